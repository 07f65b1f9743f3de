"""Unit tests of the disk spool: framing, ack, torn writes, adoption."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from predwatch.shipper._spool import (
    MAGIC,
    Entry,
    SpoolDir,
    count_records,
    frame,
    framed_size,
    orphan_candidates,
    parse,
    pid_alive,
)


def items(n: int, start: int = 0) -> list[tuple[float, bytes]]:
    return [(float(i), f"record-{i}\n".encode()) for i in range(start, start + n)]


def _size(entries: list[Entry]) -> int:
    return sum(framed_size(e.payload) for e in entries)


def read_all(sp: SpoolDir) -> list[bytes]:
    out = []
    while True:
        got = sp.read(100, 1 << 20)
        if not got:
            return out
        out += [e.payload for e in got]


class TestFraming:
    def test_round_trip(self) -> None:
        """Framed records parse back with their times."""
        buf = b"".join(frame(t, p) for t, p in items(3))
        entries, used, corrupt = parse(buf, 0, 1, 0)
        assert [e.payload for e in entries] == [p for _, p in items(3)]
        assert [e.enqueued_at for e in entries] == [0.0, 1.0, 2.0]
        assert used == len(buf) and not corrupt

    def test_torn_tail(self) -> None:
        """A record cut short is not returned and not called corrupt."""
        buf = b"".join(frame(t, p) for t, p in items(2))
        entries, _, corrupt = parse(buf[:-3], 0, 1, 0)
        assert len(entries) == 1 and not corrupt

    def test_bit_flip(self) -> None:
        """A changed byte fails the checksum."""
        buf = bytearray(frame(1.0, b"hello"))
        buf[-1] ^= 1
        entries, _, corrupt = parse(bytes(buf), 0, 1, 0)
        assert not entries and corrupt

    def test_limit(self) -> None:
        """A parse limited to k records stops after k and reports where the next one starts."""
        buf = b"".join(frame(t, p) for t, p in items(5))
        entries, used, corrupt = parse(buf, 0, 1, 0, 2)
        assert [e.payload for e in entries] == [p for _, p in items(2)]
        assert used == entries[-1].end and not corrupt


class TestSpoolDir:
    def test_read_sized_to_batch_keeps_every_record(self, tmp_path: Path) -> None:
        """Reads sized from past record sizes return exactly max_records, in order, even
        when records grow or shrink a lot between reads."""
        sp = SpoolDir.create(tmp_path, segment_bytes=1 << 20)
        sizes = [10] * 30 + [5000] * 30 + [10] * 30 + [70_000] * 5 + [10] * 10
        recs = [(float(i), f"{i:06d}".encode() + b"x" * n) for i, n in enumerate(sizes)]
        sp.append(recs, sync=False)
        got: list[bytes] = []
        while True:
            batch = sp.read(7, 5 << 20)
            if not batch:
                break
            assert len(batch) == 7 or len(got) + len(batch) == len(recs)
            got += [e.payload for e in batch]
        assert got == [p for _, p in recs]
        sp.close(force=True)

    def test_append_read_ack(self, tmp_path: Path) -> None:
        """Records come back in order; acked segments are deleted; the dir goes on close."""
        sp = SpoolDir.create(tmp_path, segment_bytes=200)
        sp.append(items(10), sync=True)
        sp.append(items(10, 10), sync=False)
        assert sp.pending_records == 20
        assert len(sp.segments()) > 1
        got = sp.read(100, 1 << 20)
        assert [e.payload for e in got] == [p for _, p in items(20)]
        sp.ack(got[-1], len(got), _size(got))
        assert sp.pending_records == 0 and sp.drained
        assert len(sp.segments()) <= 1
        assert sp.close()
        assert not sp.path.exists()

    def test_rewind(self, tmp_path: Path) -> None:
        """After a failed send, rewind reads the unacknowledged records again."""
        sp = SpoolDir.create(tmp_path)
        sp.append(items(5), sync=False)
        first = sp.read(2, 1 << 20)
        sp.ack(first[-1], 2, _size(first))
        sp.read(10, 1 << 20)
        sp.rewind()
        again = sp.read(10, 1 << 20)
        assert [e.payload for e in again] == [p for _, p in items(5)][2:]
        sp.close()

    def test_rewind_before_any_ack_then_rotate_loses_nothing(self, tmp_path: Path) -> None:
        """A send fails before anything was ever acknowledged, the writer then starts a new
        segment: every record of every segment is still delivered, in order (regression:
        the read cursor used to jump to the newest segment and the first ack deleted the
        older ones unsent; found by benchmarks/bench_outage.py)."""
        sp = SpoolDir.create(tmp_path, segment_bytes=200)
        for item in items(10):  # several small segments
            sp.append([item], sync=False)
        assert len(sp.segments()) > 1
        assert sp.read(3, 1 << 20)  # a batch goes out ... and fails
        sp.rewind()
        for item in items(10, 10):  # the outage goes on: more segments
            sp.append([item], sync=False)
        delivered: list[bytes] = []
        while True:
            got = sp.read(4, 1 << 20)
            if not got:
                break
            delivered += [e.payload for e in got]
            sp.ack(got[-1], len(got), _size(got))
        assert delivered == [p for _, p in items(20)]
        assert sp.drained
        sp.close()

    def test_byte_budget_per_read(self, tmp_path: Path) -> None:
        """A read stops near max_bytes but always returns at least one record."""
        sp = SpoolDir.create(tmp_path)
        sp.append([(0.0, b"x" * 1000), (1.0, b"y" * 1000)], sync=False)
        assert len(sp.read(10, 10)) == 1
        sp.close(remove_if_drained=False)

    def test_adopt_after_death(self, tmp_path: Path) -> None:
        """A dead process's directory is adopted with its ack position; a live one is not."""
        code = (
            "import sys; from pathlib import Path; from predwatch.shipper._spool import SpoolDir;"
            "sp = SpoolDir.create(Path(sys.argv[1]));"
            "sp.append([(float(i), b'r%d' % i) for i in range(5)], sync=True);"
            "e = sp.read(2, 1 << 20); sp.ack(e[-1], 2, sum(16 + len(x.payload) for x in e));"
            "print(sp.path, flush=True);"
            "import os; os._exit(0)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
        )
        path = Path(out.stdout.strip())
        assert orphan_candidates(tmp_path) == [path]
        sp = SpoolDir.try_adopt(path)
        assert sp is not None
        assert sp.pending_records == 3
        assert SpoolDir.try_adopt(path) is None  # we hold it now
        got = read_all(sp)
        assert got == [b"r2", b"r3", b"r4"]
        sp.close(force=True)
        assert not path.exists()

    def test_pid_alive_own_process(self, tmp_path: Path) -> None:
        """A directory named after this running process, created now, has a live owner."""
        path = tmp_path / f"{os.getpid()}-{int(time.time() * 1000)}"
        assert pid_alive(path)

    def test_pid_alive_no_such_process(self, tmp_path: Path) -> None:
        """A pid above the kernel's pid_max runs no process."""
        pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
        assert not pid_alive(tmp_path / f"{pid_max + 1}-{int(time.time() * 1000)}")

    def test_pid_alive_reused_pid(self, tmp_path: Path) -> None:
        """A live pid whose process started after the directory was made is a reused pid."""
        # 1 ms after the epoch: this process certainly started later than that.
        assert not pid_alive(tmp_path / f"{os.getpid()}-1")

    def test_pid_alive_foreign_name(self, tmp_path: Path) -> None:
        """A directory whose name is not `<pid>-<ms>` has no owner."""
        assert not pid_alive(tmp_path / "not-a-spool")

    def test_live_owner_not_adopted(self, tmp_path: Path) -> None:
        """A directory whose owner holds the lock cannot be adopted."""
        sp = SpoolDir.create(tmp_path)
        assert SpoolDir.try_adopt(sp.path) is None
        sp.close()

    def test_torn_last_write_skipped(self, tmp_path: Path) -> None:
        """A half-written last record of a dead owner is skipped and counted as torn."""
        sp = SpoolDir.create(tmp_path)
        sp.append(items(3), sync=True)
        path = sp.path
        sp.close(remove_if_drained=False)
        seg = path / "seg-00000001.log"
        with open(seg, "ab") as fh:
            fh.write(frame(9.0, b"torn-record")[:-4])
        assert count_records(seg)[0] == 3
        adopted = SpoolDir.try_adopt(path)
        assert adopted is not None
        assert read_all(adopted) == [p for _, p in items(3)]
        assert adopted.torn == 1 and adopted.corrupt == 0
        adopted.close(force=True)

    def test_corrupt_middle_skips_segment(self, tmp_path: Path) -> None:
        """A bad checksum mid-segment ends that segment; later segments still replay."""
        sp = SpoolDir.create(tmp_path, segment_bytes=50)
        sp.append(items(3), sync=True)  # segment 1
        sp.append(items(2, 3), sync=True)  # segment 2 (rotated)
        path = sp.path
        sp.close(remove_if_drained=False)
        seg1 = path / "seg-00000001.log"
        data = bytearray(seg1.read_bytes())
        data[len(MAGIC) + 20] ^= 0xFF  # inside the first record's payload
        seg1.write_bytes(bytes(data))
        adopted = SpoolDir.try_adopt(path)
        assert adopted is not None
        assert read_all(adopted) == [p for _, p in items(2, 3)]
        assert adopted.corrupt == 1
        adopted.close(force=True)

    def test_forget_after_fork_keeps_files(self, tmp_path: Path) -> None:
        """forget_after_fork closes descriptors without touching the files."""
        sp = SpoolDir.create(tmp_path)
        sp.append(items(2), sync=True)
        before = {p.name: p.stat().st_size for p in sp.path.iterdir()}
        sp.forget_after_fork()
        assert {p.name: p.stat().st_size for p in sp.path.iterdir()} == before

    def test_pid_alive(self, tmp_path: Path) -> None:
        """Our own directory's pid counts as alive."""
        sp = SpoolDir.create(tmp_path)
        assert pid_alive(sp.path)
        assert not pid_alive(tmp_path / f"{2**22 + 7}-1")
        sp.close()
        assert os.listdir(tmp_path) == []
