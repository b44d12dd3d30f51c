"""A fork server for the power-loss tests: one warm Python process that forks a child per kill.

Starting a fresh interpreter (imports, SQLCipher, cryptography) costs most of a second on the test machines, so
hundreds of kills would not fit in the time budget. This process imports everything once and forks a child for
each run; the test SIGKILLs the child, which dies exactly like a separate process would (the files see the same
thing: writes up to the kill, nothing after). Children are not reaped until the test says so (``waitid`` with
``WNOWAIT``), so the child's PID cannot be reused by another process while the test may still kill it.

Protocol (JSON lines on stdin; text lines on stdout):
  {"op": "run", "mode": M, "args": {...}}  -> "child PID", the child's own lines, then "exited PID"
  {"op": "reap", "pid": PID}               -> "reaped PID STATUS" (STATUS: "killed" or the exit code)
Modes: ``writer`` (saves, submits, approvals, publishes, printing each only after it committed), ``migrate``
(opens a store, which backs it up and migrates it), ``cli`` (``fieldapp.cli.main.main(argv)``), ``sync``
(``sync.cli.main(argv)``, i.e. ``python -m sync``).

Started by path by ``helpers.attack_tools.Forker``, whose environment (``cli_env``) sets ``PYTHONPATH`` to the
repository root, so the project imports below resolve.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys

from fieldapp.outbound import outbox
from fieldapp.store import records
from fieldapp import services
from fieldapp.cli.main import main as fieldapp_main
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records
from sync.cli import main as sync_main
import sync.engine  # noqa: F401 - warm the import cache for the children

make_records(1)  # warm the gazetteer


def say(*parts) -> None:
    """One line in one write(2): atomic on a pipe, so a kill never leaves half a line."""
    os.write(1, (" ".join(map(str, parts)) + "\n").encode())


def mode_writer(data_dir: str, key: str, user: str, seed: int, ops: list[str], approval: str | None = None) -> int:
    rng = random.Random(seed)
    session = Store(data_dir).open_with_key(bytes.fromhex(key), user, bytes.fromhex(approval) if approval else None)
    outbox.refresh(session)  # what every unlock does: publish what a crash left, pull states
    pool = make_records(60, seed=seed)
    n = 0
    say("ready")
    while True:
        op = rng.choice(ops)
        if op == "import":
            batch = [pool[(n + i) % len(pool)] for i in range(rng.randint(1, 6))]
            n += len(batch)
            for rid in records.import_records(session, batch):
                say("saved", rid)
        elif op == "draft":
            rid = records.save_draft(session, dict(pool[n % len(pool)]))
            n += 1
            say("saved", rid)
            records.submit(session, rid)
            say("submitted", rid)
        elif op == "approve":
            pending = records.submitted_ids(session)[: rng.randint(1, 12)]
            if pending:
                services.review(session, pending, "approve")  # sealed into the outbox in the same transaction
                for rid in pending:
                    say("approved", rid)
                outbox.publish(session)  # then handed to the spool
                for rid in pending:
                    say("published", rid)
        elif op == "return":
            pending = records.submitted_ids(session)[:1]
            if pending:
                services.review(session, pending, "return", "check the village")
                say("returned", pending[0])


def mode_migrate(data_dir: str, key: str, user: str) -> int:
    say("opening")
    Store(data_dir).open_with_key(bytes.fromhex(key), user).close()
    say("migrated")
    return 0


def mode_cli(argv: list[str], env: dict | None = None) -> int:
    os.environ.update(env or {})
    return fieldapp_main(argv)


def mode_sync(argv: list[str], env: dict | None = None) -> int:
    os.environ.update(env or {})
    return sync_main(argv)


MODES = {"writer": mode_writer, "migrate": mode_migrate, "cli": mode_cli, "sync": mode_sync}


def main() -> None:
    say("forker ready")
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["op"] == "run":
            pid = os.fork()
            if pid == 0:  # the child: do the work, never return into this loop
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = 1
                try:
                    code = MODES[cmd["mode"]](**cmd["args"]) or 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException as exc:  # noqa: BLE001 - report, then die
                    say("error", type(exc).__name__)
                finally:
                    os._exit(code)
            say("child", pid)
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # a zombie keeps its PID: safe to kill until reaped
            say("exited", pid)
        elif cmd["op"] == "reap":
            _, status = os.waitpid(cmd["pid"], 0)
            verdict = "killed" if os.WIFSIGNALED(status) else str(os.waitstatus_to_exitcode(status))
            say("reaped", cmd["pid"], verdict)
        elif cmd["op"] == "quit":
            return


if __name__ == "__main__":
    main()
