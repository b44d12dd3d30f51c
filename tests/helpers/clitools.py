"""Helpers shared by the core tests: a CLI runner over real processes, paths, passwords.

A plain module (not conftest) so that sub-folders with their own conftest.py cannot shadow it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
PASSWORD = "correct horse battery"
OUTREACH_PASSWORD = "outreach pass 1"


def base_env(data_dir: Path | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDAPP_")}
    env.update({"FIELDAPP_KDF_TARGET_MS": "0", "FIELDAPP_LANG": "en", "PYTHONPATH": str(ROOT)})
    if data_dir is not None:
        env["FIELDAPP_DATA_DIR"] = str(data_dir)
        env["FIELDAPP_LOG_DIR"] = str(Path(data_dir) / "logs")  # keep test logs beside the test's data
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Cli:
    """Runs ``python -m fieldapp`` as a real process against one data folder."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def __call__(self, *args, password: str | None = PASSWORD, new_password: str | None = None, check: bool = False,
                 timeout: float = 300, **env) -> subprocess.CompletedProcess:
        extra = dict(env)
        if password is not None:
            extra["FIELDAPP_PASSWORD"] = password
        if new_password is not None:
            extra["FIELDAPP_NEW_PASSWORD"] = new_password
        proc = subprocess.run([sys.executable, "-m", "fieldapp", *map(str, args)], capture_output=True, text=True,
                              env=base_env(self.data_dir, **extra), stdin=subprocess.DEVNULL, timeout=timeout, cwd=ROOT)
        if check and proc.returncode != 0:
            raise AssertionError(f"fieldapp {args} exited {proc.returncode}: {proc.stderr}")
        return proc

    def json(self, *args, **kw):
        return json.loads(self(*args, check=True, **kw).stdout)




def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path
