"""A shipper in its own process, driven by the test one JSON command per stdin line.

    python producer.py '{"model": ..., "es_url": ..., "spool_dir": ..., ...}'   (Shipper kwargs)

Commands (each answered by one JSON line on stdout):
    {"op": "log", "n": 100, "tag": "a"}   -> {"ids": [...]}      (log_prediction n times)
    {"op": "flush", "timeout": 5}         -> {"ok": bool}
    {"op": "stats"}                       -> {"stats": {...}}
    {"op": "close", "timeout": 5}         -> {"ok": bool}
    {"op": "fork", "n": 50, "out": path}  -> {"child": {"ids", "flushed", "stats"}, "status"}
        a child logs n records, flushes, writes its ids and stats to `path` and leaves
        through sys.exit; the parent waits for it.
    {"op": "exit"}                        -> sys.exit(0) without close(); the last line is
        {"stats": ...} written after the shipper's exit hook ran
The first line written is {"ready": true, "spool_dir": ...} or {"error": "..."} when the
constructor raised (then the process exits 3).
"""

from __future__ import annotations

import atexit
import faulthandler
import json
import os
import signal
import sys
from typing import Any


def say(obj: dict[str, Any]) -> None:
    # One write per line: a forked child shares this pipe.
    os.write(1, (json.dumps(obj) + "\n").encode())


def main() -> None:
    # `Producer.wait` sends SIGUSR1 when the process outlives its bound: every thread's
    # stack goes to stderr (the test's captured output), even if a thread holds the GIL.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from predwatch.errors import ConfigError
    from predwatch.shipper import Shipper

    exiting: list[Shipper] = []
    # Registered before the shipper's own hook, so it runs after it (atexit is LIFO).
    atexit.register(lambda: [say({"stats": sh.stats()}) for sh in exiting])
    kwargs = json.loads(sys.argv[1])
    kwargs.setdefault("handle_sigterm", False)
    model = kwargs.pop("model")
    try:
        sh = Shipper(model, "1.0", **kwargs)
    except ConfigError as exc:
        say({"error": str(exc)})
        sys.exit(3)
    say({"ready": True})
    count = 0
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "log":
            ids = []
            for _ in range(cmd["n"]):
                ids.append(sh.log_prediction({"i": count, "tag": cmd.get("tag", "")}, 0.5))
                count += 1
            say({"ids": ids})
        elif op == "flush":
            say({"ok": sh.flush(cmd.get("timeout", 10))})
        elif op == "stats":
            say({"stats": sh.stats()})
        elif op == "close":
            say({"ok": sh.close(cmd.get("timeout", 5))})
        elif op == "fork":
            pid = os.fork()
            if pid == 0:
                ids = [sh.log_prediction({"child": i}, 0.5) for i in range(cmd["n"])]
                flushed = sh.flush(cmd.get("timeout", 30))
                with open(cmd["out"], "w") as f:
                    json.dump({"ids": ids, "flushed": flushed, "stats": sh.stats()}, f)
                sys.exit(0)
            _, status = os.waitpid(pid, 0)
            with open(cmd["out"]) as f:
                say({"child": json.load(f), "status": status})
        elif op == "exit":
            exiting.append(sh)
            sys.exit(0)


if __name__ == "__main__":
    main()
