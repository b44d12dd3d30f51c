"""The CI scripts themselves: `scripts/ci-postgres.sh` must hand back its URL even when
the server it starts is a daemon that outlives it.

Stopped session 1: `eval "$(bash scripts/ci-postgres.sh)"` waited forever on a machine
whose cluster was down, because the started postmaster inherited the `$(...)` pipe and
CI ran out of its 90 minutes. Debian's tools are replaced here by small stand-ins on PATH
whose `pg_ctlcluster start` leaves a daemon behind holding every inherited descriptor,
exactly as the real one did.
"""
from __future__ import annotations

import os
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STUBS = {
    # Cluster state lives in $STATE: "down" until pg_ctlcluster starts it.
    "pg_lsclusters": """
        st=$(cat "$STATE")
        echo "15 main 5432 $st postgres /nonexistent /dev/null"
    """,
    "pg_createcluster": "exit 0",
    "pg_ctlcluster": """
        [ "$3" = start ] || exit 0
        # A daemon: double fork, keep every inherited descriptor open for a long time.
        ( sleep 300 & echo $! > "$DAEMON_PID" ) &
        echo online > "$STATE"
        echo "Removed stale pid file."
    """,
    "runuser": """
        shift 3  # -u postgres --
        exec "$@"
    """,
    "psql": """
        case "$*" in
          *pg_roles*|*pg_database*|*"SELECT 1"*) echo 1 ;;
        esac
    """,
}


@pytest.fixture()
def fake_debian(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in STUBS.items():
        path = bin_dir / name
        path.write_text("#!/usr/bin/env bash\n" + textwrap.dedent(body).strip() + "\n")
        path.chmod(0o755)
    (tmp_path / "lib" / "15").mkdir(parents=True)
    state = tmp_path / "state"
    state.write_text("down")
    daemon_pid = tmp_path / "daemon.pid"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", STATE=str(state),
               DAEMON_PID=str(daemon_pid), FIELDAPP_PG_LIB_DIR=str(tmp_path / "lib"))
    yield env, state
    if daemon_pid.exists():
        try:
            os.kill(int(daemon_pid.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _run_in_command_substitution(env):
    # Exactly how scripts/test calls it.
    return subprocess.run(
        ["bash", "-c", 'out="$(bash scripts/ci-postgres.sh)"; printf "%s" "$out"'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_started_daemon_does_not_hold_the_callers_pipe(fake_debian):
    env, state = fake_debian
    try:
        done = _run_in_command_substitution(env)
    except subprocess.TimeoutExpired:  # pragma: no cover - the regression itself
        pytest.fail("ci-postgres.sh never returned: the daemon kept the $(...) pipe open")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "export FIELDAPP_TEST_PG_STARTED=15" in lines
    assert any(l.startswith("export FIELDAPP_TEST_PG_URL=postgresql://") for l in lines)
    # What the server printed went to stderr, never into the eval'd text.
    assert "Removed stale pid file." in done.stderr
    assert state.read_text().strip() == "online"


def test_running_cluster_is_reused_and_not_marked_as_ours(fake_debian):
    env, state = fake_debian
    state.write_text("online")
    done = _run_in_command_substitution(env)
    assert done.returncode == 0, done.stderr
    assert "FIELDAPP_TEST_PG_STARTED" not in done.stdout  # scripts/test won't stop it
    assert "FIELDAPP_TEST_PG_URL=" in done.stdout


def test_no_postgres_means_empty_stdout_and_exit_zero(fake_debian, tmp_path):
    env, _ = fake_debian
    env = dict(env, FIELDAPP_PG_LIB_DIR=str(tmp_path / "missing"))
    if os.geteuid() == 0:
        # As root the script would apt-get install; hide apt-get so it cannot.
        stub = Path(env["PATH"].split(":")[0]) / "apt-get"
        stub.write_text("#!/usr/bin/env bash\nexit 100\n")
        stub.chmod(0o755)
    done = _run_in_command_substitution(env)
    assert done.returncode == 0
    assert done.stdout == ""
    assert "WARNING" in done.stderr
