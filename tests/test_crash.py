"""Power loss modelled by SIGKILL: nothing reported as saved is lost, and the store always verifies."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from clitools import PASSWORD, ROOT, base_env
from fieldapp.store import records
from fieldapp.store.database import Store
from fieldapp.store.verify import verify

KILLS = int(os.environ.get("FIELDAPP_CRASH_KILLS", "30"))


def run_and_kill(data_dir, seed: int, mode: str, delay: float) -> tuple[set, set]:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crash_writer.py"), str(data_dir), "sup", str(seed), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base_env(), cwd=ROOT)
    saved, approved, ready = set(), set(), threading.Event()

    def reader():
        for line in proc.stdout:
            word, _, rid = line.strip().partition(" ")
            if word == "ready":
                ready.set()
            elif word == "saved":
                saved.add(rid)
            elif word == "approved":
                approved.add(rid)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert ready.wait(60), proc.stderr.read() if proc.poll() is not None else "writer did not start"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    thread.join(10)
    return saved, approved


@pytest.mark.slow
def test_sigkill_during_saves_and_approvals_loses_nothing_reported(tmp_path):
    store = Store(tmp_path / "data")
    store.create("sup", PASSWORD).close()
    rng = random.Random(1234)
    all_saved, all_approved = set(), set()
    for i in range(KILLS):
        mode = "approve" if i % 3 == 2 else "save"
        saved, approved = run_and_kill(store.data_dir, i, mode, rng.uniform(0.02, 0.6))
        all_saved |= saved
        all_approved |= approved
        check = subprocess.run([sys.executable, "-m", "fieldapp", "verify", "--user", "sup"], capture_output=True, text=True,
                               env=base_env(store.data_dir, FIELDAPP_PASSWORD=PASSWORD), cwd=ROOT)
        assert check.returncode == 0, f"kill {i}: {check.stderr}"
        with store.unlock("sup", PASSWORD) as session:
            assert verify(session) == [], f"kill {i}"
            present = {r[0]: r[1] for r in session.conn.execute("SELECT id, state FROM records")}
        missing = all_saved - present.keys()
        assert not missing, f"kill {i}: {len(missing)} reported saves lost"
        assert all(present[rid] == "approved" for rid in all_approved), f"kill {i}: approval lost"
    assert len(all_saved) > KILLS  # the kills really landed among saves
    with store.unlock("sup", PASSWORD) as session:
        assert records.counts(session)["approved"] >= len(all_approved)
