"""Power loss modelled by SIGKILL: nothing reported as saved is lost, and the store always verifies.

The child (``crash_writer.py``) reports every save and approval only after its COMMIT. The parent kills it
(SIGKILL) as soon as it has read the child's k-th ``saved`` report, k drawn afresh for every kill from a
seeded generator: the kill lands while the child is in the middle of its next write (or approval), wherever
that happens to be, but nothing asserted depends on how much work fits into some stretch of wall-clock
time. The seed is printed in every failure; ``FIELDAPP_CRASH_SEED=N`` replays a run.
"""

import os
import random
import signal
import subprocess
import sys
import threading

import pytest

from helpers.clitools import PASSWORD, ROOT, base_env
from fieldapp.store import records
from fieldapp.store.database import Store
from fieldapp.store.verify import verify

KILLS = int(os.environ.get("FIELDAPP_CRASH_KILLS", "30"))
SEED = int(os.environ.get("FIELDAPP_CRASH_SEED") or random.SystemRandom().randrange(2**32))
MAX_SAVES = 30  # k is drawn from 1..MAX_SAVES
STALL = 120  # seconds without the k-th report before the child counts as hung (a failure, never a kill)


def run_and_kill(data_dir, seed: int, mode: str, k: int) -> tuple[list, set, int]:
    """Run the writer until it has reported its k-th save, SIGKILL it there; ``(saved, approved, returncode)``."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crash_writer.py"), str(data_dir), "sup", str(seed), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base_env(), cwd=ROOT)
    saved, approved, killed = [], set(), threading.Event()

    def reader():
        for line in proc.stdout:
            word, _, rid = line.strip().partition(" ")
            if word == "saved":
                saved.append(rid)
                if len(saved) == k:  # kill from this thread, at once: no hand-over to another thread first
                    os.kill(proc.pid, signal.SIGKILL)
                    killed.set()
            elif word == "approved":
                approved.add(rid)
        killed.set()  # end of output: killed, or the writer died by itself (told apart by the return code)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    if not killed.wait(STALL):
        proc.kill()
        proc.wait()
        raise AssertionError(f"seed {SEED}: the writer reported {len(saved)} of {k} saves, then hung")
    proc.wait()
    thread.join(STALL)
    assert not thread.is_alive(), f"seed {SEED}: the writer's output never ended"
    if proc.returncode != -signal.SIGKILL:
        raise AssertionError(f"seed {SEED}: the writer exited {proc.returncode} before the kill: {proc.stderr.read()}")
    proc.stderr.close()
    return saved, approved, proc.returncode


@pytest.mark.slow
def test_sigkill_during_saves_and_approvals_loses_nothing_reported(tmp_path):
    store = Store(tmp_path / "data")
    store.create("sup", PASSWORD).close()
    rng = random.Random(SEED)
    all_saved, all_approved = set(), set()
    for i in range(KILLS):
        mode = "approve" if i % 3 == 2 else "save"
        k = rng.randint(1, MAX_SAVES)
        where = f"seed {SEED}, kill {i} ({mode}, after save {k})"
        saved, approved, _ = run_and_kill(store.data_dir, i, mode, k)
        assert len(saved) >= k, where  # the kill came only after the k-th durable save was reported
        assert len(set(saved)) == len(saved), f"{where}: a record ID was reported twice"
        if mode == "approve":  # the two save runs before this one left submitted records; they go first
            assert approved, f"{where}: no approval reported before the kill"
        all_saved |= set(saved)
        all_approved |= approved
        check = subprocess.run([sys.executable, "-m", "fieldapp", "verify", "--user", "sup"], capture_output=True, text=True,
                               env=base_env(store.data_dir, FIELDAPP_PASSWORD=PASSWORD), cwd=ROOT)
        assert check.returncode == 0, f"{where}: {check.stderr}"
        with store.unlock("sup", PASSWORD) as session:
            assert verify(session) == [], where
            present = {r[0]: r[1] for r in session.conn.execute("SELECT id, state FROM records")}
        missing = all_saved - present.keys()
        assert not missing, f"{where}: {len(missing)} reported saves lost"
        assert all(present[rid] == "approved" for rid in all_approved), f"{where}: approval lost"
    with store.unlock("sup", PASSWORD) as session:
        assert records.counts(session)["approved"] >= len(all_approved), f"seed {SEED}"
