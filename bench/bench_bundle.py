"""The installed build: bundle and .deb sizes, and how fast the installed program starts.

Rows (``run(quick)``):

- ``bundle size``: the one-folder build on disk, against the installed site-packages folders the app imports
  from (measured by importing the app in a fresh interpreter);
- ``deb size``: the .deb (gzip with --quick, else xz as released), against the same baseline;
- ``launch to window``: spawn of the installed program until its first window is shown (offscreen,
  ``FIELDAPP_QUIT_AFTER_WINDOW=1``), against the same entry (``installers/entry.py``) run by the venv's Python;
- ``CLI start``: ``fieldapp --version`` from the bundle against ``python -m fieldapp --version``.

The build is made by installers/build-linux.sh into a temporary folder, or reused from ``FIELDAPP_FROZEN_OUT``.
Nothing here asserts a time.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _site_packages_used() -> int:
    """Bytes of the site-packages folders whose modules the app imports (core, sync engine, desktop client)."""
    code = ("import sys, json, fieldapp.cli.main, fieldapp.cli.deploy, sync.engine, sync.service, ui.app, ui.selftest;"
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    names = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                           cwd=ROOT).stdout
    import json
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    total = 0
    for name in json.loads(names):
        for candidate in (site / name, *site.glob(f"{name}.*.so"), site / f"{name}.py"):
            if candidate.exists():
                total += _tree_size(candidate)
    return total + sum(_tree_size(site / d) for d in ("fontpkg_noto_sans", "fontpkg_noto_sans_khmer"))


def _build(quick: bool) -> Path | None:
    reuse = os.environ.get("FIELDAPP_FROZEN_OUT")
    if reuse and (Path(reuse) / "bundle" / "fieldapp" / "fieldapp").exists() and list(Path(reuse).glob("*.deb")):
        return Path(reuse)
    out = Path(tempfile.mkdtemp(prefix="fieldapp-bench-build-"))
    proc = subprocess.run(["bash", str(ROOT / "installers" / "build-linux.sh"), "--out", str(out), "--compress",
                           "gzip" if quick else "xz"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHON=sys.executable))
    return out if proc.returncode == 0 else None


def _compression(deb: Path) -> str:
    head = deb.read_bytes()[:4096]
    return next((c for c, member in (("xz", b"data.tar.xz"), ("gzip", b"data.tar.gz"), ("zstd", b"data.tar.zst"))
                 if member in head), "?")


def _time_to(cmd: list[str], marker: str | None, env: dict) -> float:
    """Seconds from spawn until ``marker`` appears on stderr (or until exit when None)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd="/")
    elapsed = None
    if marker:
        for line in proc.stderr:
            if line.startswith(marker):
                elapsed = time.perf_counter() - start
                break
    proc.wait(120)
    proc.stderr.close()
    return elapsed if elapsed is not None else time.perf_counter() - start


def _median(cmd, marker, env, n) -> float:
    _time_to(cmd, marker, env)  # warm the page cache once
    return statistics.median(_time_to(cmd, marker, env) for _ in range(n))


def run(quick: bool = False) -> list[dict]:
    out = _build(quick)
    if out is None:
        return [{"name": "bundle size", "value": None, "unit": "MiB", "baseline": None, "ratio": None,
                 "note": "build failed or PyInstaller missing (pip install -r requirements-dev.txt)"}]
    exe = out / "bundle" / "fieldapp" / "fieldapp"
    deb = next(out.glob("*.deb"))
    site = _site_packages_used() / MiB
    bundle = _tree_size(exe.parent) / MiB
    deb_size = deb.stat().st_size / MiB
    rows = [
        {"name": "bundle size", "value": round(bundle, 1), "unit": "MiB", "baseline": round(site, 1),
         "ratio": round(bundle / site, 3), "note": "baseline: site-packages folders the app imports from"},
        {"name": "deb size", "value": round(deb_size, 1), "unit": "MiB", "baseline": round(site, 1),
         "ratio": round(deb_size / site, 3), "note": f"{_compression(deb)} .deb; same baseline"},
    ]
    n = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="fieldapp-bench-") as tmp:
        env = {"QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8", "FIELDAPP_DATA_DIR": f"{tmp}/data",
               "FIELDAPP_LOG_DIR": f"{tmp}/logs", "FIELDAPP_QUIT_AFTER_WINDOW": "1",
               "FIELDAPP_PROVISIONING_FILE": f"{tmp}/none.json"}
        venv_env = dict(env, PATH=os.environ.get("PATH", ""), PYTHONPATH=str(ROOT))
        frozen_window = _median([str(exe)], "window-shown", env, n)
        venv_window = _median([sys.executable, str(ROOT / "installers" / "entry.py")], "window-shown", venv_env, n)
        rows.append({"name": "launch to window", "value": round(frozen_window * 1000), "unit": "ms",
                     "baseline": round(venv_window * 1000), "ratio": round(frozen_window / venv_window, 3),
                     "note": f"median of {n}, offscreen, first-run screen; baseline: python installers/entry.py"})
        frozen_cli = _median([str(exe), "--version"], None, env, n)
        venv_cli = _median([sys.executable, "-m", "fieldapp", "--version"], None, venv_env, n)
        rows.append({"name": "CLI start", "value": round(frozen_cli * 1000), "unit": "ms",
                     "baseline": round(venv_cli * 1000), "ratio": round(frozen_cli / venv_cli, 3),
                     "note": f"median of {n}; fieldapp --version; baseline: python -m fieldapp --version"})
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
