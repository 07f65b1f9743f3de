"""Append-only, checksummed disk spool: one directory per process, adopted when it dies.

Layout under the spool root (default `$PREDWATCH_SPOOL_DIR/<model>` or
`~/.cache/predwatch/spool/<model>`):

    <root>/<pid>-<start_ms>/lock            flock()ed by the owner for its whole life
    <root>/<pid>-<start_ms>/seg-00000001.log segments: MAGIC, then records
    <root>/<pid>-<start_ms>/ack             "<segment> <offset> <records>": all before is delivered

A record is `u32 length | f64 enqueued_at | u32 crc32(length, enqueued_at, payload) | payload`
(little endian); the payload is the record's two `_bulk` lines. A torn last write (the
process died mid-write) fails the length or checksum test and is skipped; a bad record in
the middle of a segment ends that segment (counted as corrupt: framing is lost).

Liveness is decided by the lock, never by the pid alone: the kernel drops an flock when its
process dies (even by SIGKILL), so a directory whose lock can be taken is an orphan, and
taking the lock is also what makes one adopter win (no two processes replay one spool).
Directories are created under a `.tmp-` name and renamed once locked, so an adopter never
sees an unlocked directory that is still being set up. The pid and start time in the name
are for people (`predwatch spool status` shows whether the pid still runs).

Budget: `live_bytes` counts the framed bytes of records not yet acknowledged (what is
unsent), not what was ever written: acknowledged space counts as free at once, and the
file space itself is reclaimed when a segment is deleted (a drained write segment is
deleted too once it holds a quarter of `segment_bytes`), so the disk holds at most about
`live_bytes` plus one segment.

Segments are deleted only once every record in them is acknowledged. The ack file is
replaced atomically but not fsynced: after a crash the last few batches may be replayed
again, which Elasticsearch answers with 409 (duplicate) - counted, harmless.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAGIC = b"PWSPOOL1"
HEADER = struct.Struct("<Id")
CRC = struct.Struct("<I")
HEADER_SIZE = HEADER.size + CRC.size  # 16
MAX_RECORD = 64 << 20
DEFAULT_SEGMENT_BYTES = 16 << 20
DIR_RE = re.compile(r"^(\d+)-(\d+)$")
SEG_RE = re.compile(r"^seg-(\d{8})\.log$")


@dataclass(frozen=True)
class Entry:
    """One spooled record and the position just after it."""

    seg: int
    end: int
    enqueued_at: float
    payload: bytes


def frame(enqueued_at: float, payload: bytes) -> bytes:
    head = HEADER.pack(len(payload), enqueued_at)
    return head + CRC.pack(zlib.crc32(payload, zlib.crc32(head))) + payload


def parse(
    buf: bytes, start: int, seg: int, base: int, limit: int | None = None
) -> tuple[list[Entry], int, bool]:
    """Whole records in `buf[start:]`, at most `limit` of them; returns (entries, next
    offset in buf, corrupt)."""
    out: list[Entry] = []
    pos, n = start, len(buf)
    room = -1 if limit is None else limit
    while pos + HEADER_SIZE <= n and room != 0:
        room -= 1
        length, t = HEADER.unpack_from(buf, pos)
        if length > MAX_RECORD:
            return out, pos, True
        end = pos + HEADER_SIZE + length
        if end > n:
            break
        (crc,) = CRC.unpack_from(buf, pos + HEADER.size)
        payload = bytes(buf[pos + HEADER_SIZE : end])
        if zlib.crc32(payload, zlib.crc32(buf[pos : pos + HEADER.size])) != crc:
            return out, pos, True
        out.append(Entry(seg, base + end, t, payload))
        pos = end
    return out, pos, False


class SpoolDir:
    """One process's spool directory: written by its owner, read by owner or adopter.

    Thread-safe: one lock guards the write position, the read cursor and the counters.
    """

    def __init__(self, path: Path, lock_fd: int, *, owner: bool, segment_bytes: int) -> None:
        self.path = path
        self.owner = owner
        self.segment_bytes = segment_bytes
        self._lock_fd = lock_fd
        self._mu = threading.RLock()  # re-entrant: a SIGTERM handler may close mid-call
        self._wfd = -1
        self._rfd = -1
        self._rfd_seg = -1
        segs = self.segments()
        self._wseg = segs[-1] if segs else 0
        self._woff = _size(self._seg_path(self._wseg)) if segs else 0
        self.ack_seg, self.ack_off, acked = self._read_ack()
        self._rseg, self._roff = self.ack_seg, self.ack_off
        self.disk_bytes = sum(_size(self._seg_path(n)) for n in segs)
        self.pending_records, self.live_bytes = (0, 0) if owner else self._count_pending()
        self.acked_records = acked
        self.torn = 0
        self.corrupt = 0
        # Mean framed size of the records read last: a replay reads about what one
        # batch needs, not `max_bytes` (5 MiB) to parse and throw most of it away.
        self._record_size = 1024.0

    # --- creation / adoption --------------------------------------------------------
    @classmethod
    def create(cls, root: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> SpoolDir:
        """A new, locked directory for this process."""
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".tmp-{os.getpid()}-{os.urandom(4).hex()}"
        tmp.mkdir()
        fd = os.open(tmp / "lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        final = root / f"{os.getpid()}-{int(time.time() * 1000)}"
        while final.exists():  # same pid within the same millisecond: a fork-heavy parent
            final = final.with_name(f"{os.getpid()}-{int(time.time() * 1000) + 1}")
        os.rename(tmp, final)
        _fsync_dir(root)
        return cls(final, fd, owner=True, segment_bytes=segment_bytes)

    @classmethod
    def try_adopt(cls, path: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> SpoolDir | None:
        """The orphan at `path`, locked by us, or None when its owner (or an adopter) lives."""
        try:
            fd = os.open(path / "lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        if not path.exists():  # deleted by its adopter between our listing and our lock
            os.close(fd)
            return None
        return cls(path, fd, owner=False, segment_bytes=segment_bytes)

    # --- writing (owner) ------------------------------------------------------------
    def append(self, entries: list[tuple[float, bytes]], sync: bool) -> int:
        """Append records (enqueued_at, payload); fsync when `sync`. Returns bytes written."""
        blob = b"".join(frame(t, p) for t, p in entries)
        with self._mu:
            if self._wfd < 0 or self._woff >= self.segment_bytes:
                self._rotate(sync)
            _write_all(self._wfd, blob)
            if sync:
                os.fsync(self._wfd)
            self._woff += len(blob)
            self.disk_bytes += len(blob)
            self.live_bytes += len(blob)
            self.pending_records += len(entries)
        return len(blob)

    def _rotate(self, sync: bool) -> None:
        if self._wfd >= 0:
            os.close(self._wfd)
        self._wseg += 1
        fd = os.open(
            self._seg_path(self._wseg),
            os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC,
            0o600,
        )
        _write_all(fd, MAGIC)
        if sync:
            os.fsync(fd)
            _fsync_dir(self.path)
        self._wfd, self._woff = fd, len(MAGIC)
        self.disk_bytes += len(MAGIC)
        # The read cursor is not touched here: while nothing is acknowledged it is at
        # segment 0, which `_read_some` resolves to the OLDEST segment on disk. (Moving it
        # to the new segment lost every older one after a rewind: see test_shipper_spool.)

    # --- reading --------------------------------------------------------------------
    def read(self, max_records: int, max_bytes: int) -> list[Entry]:
        """Up to `max_records` records from the read cursor, advancing it."""
        out: list[Entry] = []
        with self._mu:
            budget = max_bytes
            while len(out) < max_records and budget > 0:
                got = self._read_some(max_records - len(out), budget)
                if got is None:
                    break
                out.extend(got)
                budget -= sum(len(e.payload) for e in got)
        return out

    def _read_some(self, max_records: int, max_bytes: int) -> list[Entry] | None:
        seg, off = self._rseg, self._roff
        segs = self.segments()
        if seg not in segs:
            later = [n for n in segs if n > seg]
            if not later:
                return None
            seg, off = later[0], len(MAGIC)
            self._rseg, self._roff = seg, off
        limit = self._woff if (self.owner and seg == self._wseg) else _size(self._seg_path(seg))
        if off < len(MAGIC):
            off = self._roff = len(MAGIC)
        if off >= limit:
            return self._next_segment(seg)
        fd = self._reader_fd(seg)
        want = int(max_records * self._record_size * 1.25) + HEADER_SIZE
        buf = os.pread(fd, min(limit - off, max(min(max_bytes, want), HEADER_SIZE)), off)
        entries, used, corrupt = parse(buf, 0, seg, off, max_records)
        if not entries and not corrupt and len(buf) >= HEADER_SIZE:
            length = HEADER.unpack_from(buf, 0)[0]
            if length <= MAX_RECORD and off + HEADER_SIZE + length <= limit:
                buf = os.pread(fd, HEADER_SIZE + length, off)
                entries, used, corrupt = parse(buf, 0, seg, off, max_records)
        if entries:
            self._roff = entries[-1].end
            self._record_size = (self._roff - off) / len(entries)
            return entries
        if corrupt or off + used < limit:
            # Bad framing: nothing after it in this segment can be trusted. At the very
            # end of the newest segment it is a write the dead owner never finished.
            if self._is_tail(seg, off + used, limit):
                self.torn += 1
            else:
                self.corrupt += 1
            self._roff = limit
            return self._next_segment(seg)
        return self._next_segment(seg)

    def _is_tail(self, seg: int, off: int, limit: int) -> bool:
        """A bad record that is the last thing in the newest segment: a torn write."""
        if seg != max(self.segments(), default=seg):
            return False
        buf = os.pread(self._reader_fd(seg), HEADER_SIZE, off)
        if len(buf) < HEADER_SIZE:
            return True
        length: int = HEADER.unpack_from(buf, 0)[0]
        return off + HEADER_SIZE + length >= limit

    def _next_segment(self, seg: int) -> list[Entry] | None:
        later = [n for n in self.segments() if n > seg]
        if not later:
            return None
        self._rseg, self._roff = later[0], len(MAGIC)
        return []

    def _reader_fd(self, seg: int) -> int:
        if self._rfd_seg != seg:
            if self._rfd >= 0:
                os.close(self._rfd)
            self._rfd = os.open(self._seg_path(seg), os.O_RDONLY | os.O_CLOEXEC)
            self._rfd_seg = seg
        return self._rfd

    def rewind(self) -> None:
        """Move the read cursor back to the first unacknowledged record (segment 0 =
        nothing acknowledged yet = the oldest segment on disk)."""
        with self._mu:
            self._rseg, self._roff = self.ack_seg, self.ack_off

    def ack(self, entry: Entry, n_records: int, n_bytes: int) -> None:
        """Everything up to and including `entry` is delivered (`n_records` of them now,
        `n_bytes` framed bytes: see `framed_size`)."""
        with self._mu:
            self.ack_seg, self.ack_off = entry.seg, entry.end
            self.pending_records = max(0, self.pending_records - n_records)
            self.live_bytes = max(0, self.live_bytes - n_bytes)
            self.acked_records += n_records
            self._write_ack()
            for n in self.segments():
                if n < entry.seg:
                    self._delete_segment(n)
            all_acked = self.owner and entry.seg == self._wseg and entry.end >= self._woff
            if all_acked and self._woff >= self.segment_bytes // 4:
                self._close_writer()
                self._delete_segment(entry.seg)

    def _delete_segment(self, n: int) -> None:
        path = self._seg_path(n)
        self.disk_bytes -= _size(path)
        if self._rfd_seg == n:
            os.close(self._rfd)
            self._rfd, self._rfd_seg = -1, -1
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def _close_writer(self) -> None:
        if self._wfd >= 0:
            os.close(self._wfd)
        self._wfd = -1
        self._woff = self.segment_bytes  # the next append rotates

    # --- state ----------------------------------------------------------------------
    @property
    def drained(self) -> bool:
        """True when every record written is acknowledged."""
        with self._mu:
            segs = self.segments()
            if not segs:
                return True
            if self.owner:
                return (self.ack_seg, self.ack_off) >= (self._wseg, self._woff) or (
                    self.ack_seg == 0 and self.pending_records == 0
                )
            return self.pending_records == 0

    def oldest_enqueued_at(self) -> float | None:
        """Enqueue time of the first unacknowledged record (one small read)."""
        with self._mu:
            seg, off = self.ack_seg, self.ack_off
            segs = self.segments()
            if seg not in segs:
                later = [n for n in segs if n > seg]
                if not later:
                    return None
                seg, off = later[0], len(MAGIC)
            try:
                with open(self._seg_path(seg), "rb") as fh:
                    fh.seek(max(off, len(MAGIC)))
                    head = fh.read(HEADER.size)
            except OSError:
                return None
            if len(head) < HEADER.size:
                return None
            return float(HEADER.unpack(head)[1])

    def segments(self) -> list[int]:
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(int(m.group(1)) for m in map(SEG_RE.match, names) if m)

    def _seg_path(self, n: int) -> Path:
        return self.path / f"seg-{n:08d}.log"

    def _read_ack(self) -> tuple[int, int, int]:
        try:
            parts = (self.path / "ack").read_text().split()
            return int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0
        except (OSError, ValueError, IndexError):
            segs = self.segments()
            return (segs[0] if segs else 0), len(MAGIC), 0

    def _write_ack(self) -> None:
        tmp = self.path / "ack.tmp"
        tmp.write_text(f"{self.ack_seg} {self.ack_off} {self.acked_records}\n")
        os.replace(tmp, self.path / "ack")

    def _count_pending(self) -> tuple[int, int]:
        n = size = 0
        for seg in self.segments():
            if seg < self.ack_seg:
                continue
            k, b = count_records(self._seg_path(seg), self.ack_off if seg == self.ack_seg else 0)
            n, size = n + k, size + b
        return n, size

    # --- closing --------------------------------------------------------------------
    def close(self, remove_if_drained: bool = True, force: bool = False) -> bool:
        """Release files; remove the directory when drained (or `force`). True when removed."""
        removed = False
        with self._mu:
            for fd in (self._wfd, self._rfd):
                if fd >= 0:
                    os.close(fd)
            self._wfd = self._rfd = -1
        if force or (remove_if_drained and self.drained):
            for child in list(self.path.iterdir()) if self.path.exists() else []:
                with contextlib.suppress(OSError):
                    child.unlink()
            with contextlib.suppress(OSError):
                self.path.rmdir()
                removed = True
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1
        return removed

    def forget_after_fork(self) -> None:
        """In a forked child: drop inherited descriptors without touching any file."""
        for fd in (self._wfd, self._rfd, self._lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wfd = self._rfd = self._lock_fd = -1
        self._mu = threading.RLock()  # re-entrant: a SIGTERM handler may close mid-call


# --- helpers --------------------------------------------------------------------------
def framed_size(payload: bytes) -> int:
    """Bytes one record takes in a segment."""
    return HEADER_SIZE + len(payload)


def count_records(path: Path, start: int = 0) -> tuple[int, int]:
    """Number and framed bytes of the whole, valid records in a segment from offset `start`."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return 0, 0
    if not data.startswith(MAGIC):
        return 0, 0
    entries, _, _ = parse(data, max(start, len(MAGIC)), 0, 0)
    return len(entries), sum(framed_size(e.payload) for e in entries)


def orphan_candidates(root: Path, exclude: Path | None = None) -> list[Path]:
    """Process directories under `root` (oldest first), except `exclude`."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    found = []
    for name in names:
        m = DIR_RE.match(name)
        if m and (exclude is None or root / name != exclude):
            found.append((int(m.group(2)), root / name))
    return [p for _, p in sorted(found)]


def pid_alive(path: Path) -> bool:
    """Whether the pid in a directory name runs a process that started before the directory."""
    m = DIR_RE.match(path.name)
    if not m:
        return False
    pid, started_ms = int(m.group(1)), int(m.group(2))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    start = _process_start(pid)
    return start is None or start <= started_ms / 1000 + 1


def _process_start(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def describe(path: Path) -> dict[str, Any]:
    """A read-only summary of one process directory (for `predwatch spool status`).

    Takes the lock only for a moment to learn whether the owner lives (then releases it).
    """
    m = DIR_RE.match(path.name)
    segs = sorted(int(x.group(1)) for x in map(SEG_RE.match, _listdir(path)) if x)
    try:
        parts = (path / "ack").read_text().split()
        ack_seg, ack_off = int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        ack_seg, ack_off = (segs[0] if segs else 0), len(MAGIC)
    pending = 0
    oldest: float | None = None
    for seg in segs:
        if seg < ack_seg:
            continue
        try:
            data = (path / f"seg-{seg:08d}.log").read_bytes()
        except OSError:
            continue
        start = max(ack_off if seg == ack_seg else 0, len(MAGIC))
        entries, _, _ = parse(data, start, seg, 0) if data.startswith(MAGIC) else ([], 0, False)
        pending += len(entries)
        if entries and oldest is None:
            oldest = entries[0].enqueued_at
    return {
        "path": str(path),
        "pid": int(m.group(1)) if m else None,
        "started_at": int(m.group(2)) / 1000 if m else None,
        "owner_alive": _locked(path),
        "pid_running": pid_alive(path),
        "pending_records": pending,
        "disk_bytes": sum(_size(path / f"seg-{n:08d}.log") for n in segs),
        "oldest_enqueued_at": oldest,
    }


def _locked(path: Path) -> bool:
    try:
        fd = os.open(path / "lock", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the lock if we got it
    return False


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []
