"""``fieldapp --demo``: a demo store, a local reference registry in demo mode, then the app.

The demo store lives in the data folder (the README's run command uses ``./.fieldapp-demo``), with two accounts
(``DEMO_ACCOUNTS``), synthetic records in every state, and the device registered to a reference registry started
in the background on loopback (``FIELDAPP_DEMO_PORT``, default 47815; its data in ``<data>/demo-registry``).
With a display the desktop client opens; without one (or with ``FIELDAPP_DEMO_NO_UI=1``) the demo syncs once,
prints a summary and exits. Nothing here is for production: the demo passwords are printed on purpose.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fieldapp.outbound import outbox
from fieldapp.store import records, users
from fieldapp import services
from fieldapp.domain import reasons
from fieldapp.base.i18n import tr
from fieldapp.base.exitcodes import Exit
from fieldapp.base.paths import resolve_data_dir
from fieldapp.store.database import Store
from fieldapp.domain.synthetic import make_records

DEMO_ACCOUNTS = {"supervisor": "demo-supervisor", "outreach": "demo-outreach"}
DEFAULT_PORT = 47815


def _fill(store: Store) -> None:
    session = store.create("supervisor", DEMO_ACCOUNTS["supervisor"], "Demo Supervisor")
    users.add_user(session, "outreach", DEMO_ACCOUNTS["outreach"], "outreach", "Demo Outreach Worker")
    session.close()
    recs = make_records(150, seed=2026)
    with store.unlock("outreach", DEMO_ACCOUNTS["outreach"]) as ow:
        ids = records.import_records(ow, recs[:140])
        for rec in recs[140:]:
            records.save_draft(ow, {k: rec[k] for k in ("family_name", "given_name", "sex")})
        # spread the demo enrollments over the last 30 days so the home chart has a shape (demo data only)
        now = datetime.now(timezone.utc)
        with ow.write() as tx:
            for i, rid in enumerate(ids):
                when = (now - timedelta(days=(i * 7) % 30, hours=i % 9)).isoformat(timespec="seconds")
                tx.execute("UPDATE records SET created_at = ? WHERE id = ?", (when, rid))
    with store.unlock("supervisor", DEMO_ACCOUNTS["supervisor"]) as sup:
        services.review(sup, ids[:90], "approve")
        # reasons as a supervisor gives them on the Review screen: a reason code (shown in the reader's language)
        services.review(sup, ids[90:95], "return", reasons.compose("missing_consent"))
        services.review(sup, ids[95:97], "reject", reasons.compose("possible_duplicate"))


def _start_registry(reg_dir: Path, port: int) -> subprocess.Popen:
    import requests

    cmd = [sys.executable, "-m", "registry", "serve", "--data-dir", str(reg_dir), "--host", "127.0.0.1",
           "--port", str(port), "--register-delay", "3"]
    log = open(reg_dir.parent / "demo-registry.log", "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        if proc.poll() is not None:
            break
        try:
            if requests.get(url + "/v1/health", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    from fieldapp.base.errors import FieldappError

    raise FieldappError("core.demo.registry_failed", port=port)


def _register(session, reg_dir: Path, port: int) -> None:
    from fieldapp.outbound import identity
    from sync.registration import register_store

    if identity.trusted_device(session) is not None:
        return
    out = subprocess.run([sys.executable, "-m", "registry", "enrollment-code", "--data-dir", str(reg_dir)],
                         capture_output=True, text=True, check=True).stdout
    code = json.loads(out)["code"]
    register_store(session, f"http://127.0.0.1:{port}", code, name="demo-laptop")


def _has_display() -> bool:
    if os.environ.get("FIELDAPP_DEMO_NO_UI"):
        return False
    if sys.platform in ("win32", "darwin") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_demo(args) -> int:
    data_dir = resolve_data_dir(getattr(args, "data_dir", None) or ".fieldapp-demo")
    store = Store(data_dir)
    if not store.exists():
        print(tr("core.demo.creating", path=str(data_dir)), file=sys.stderr)
        _fill(store)
    port = int(os.environ.get("FIELDAPP_DEMO_PORT", DEFAULT_PORT))
    reg_dir = data_dir / "demo-registry"
    reg_dir.mkdir(mode=0o700, exist_ok=True)
    registry = _start_registry(reg_dir, port)
    try:
        with store.unlock("supervisor", DEMO_ACCOUNTS["supervisor"]) as sup:
            outbox.refresh(sup)
            _register(sup, reg_dir, port)
            outbox.enqueue_approved(sup)
        print(tr("core.demo.accounts", supervisor=DEMO_ACCOUNTS["supervisor"], outreach=DEMO_ACCOUNTS["outreach"]),
              file=sys.stderr)
        if _has_display():
            from fieldapp.base.plugins import gui_runner

            run_ui = gui_runner()
            if run_ui is not None:
                return run_ui(data_dir, demo={"accounts": dict(DEMO_ACCOUNTS), "registry_url": f"http://127.0.0.1:{port}"})
        return _text_demo(store)
    finally:
        registry.terminate()
        try:
            registry.wait(10)
        except subprocess.TimeoutExpired:
            registry.kill()


def _text_demo(store: Store) -> int:
    from fieldapp.outbound.spool import Spool
    from sync.service import SyncService

    result = SyncService(store.data_dir).sync_once(timeout=60)
    deadline = time.monotonic() + 30  # the demo registry registers records 3 s after receiving them
    while time.monotonic() < deadline:
        with Spool(store.data_dir) as spool:
            if not spool.counts().get("synced"):
                break
        time.sleep(1)
        SyncService(store.data_dir).sync_once(timeout=60)  # asks the registry for the records' states
    with store.unlock("supervisor", DEMO_ACCOUNTS["supervisor"]) as sup:
        outbox.refresh(sup)
        counts = records.counts(sup)
    print(tr("core.demo.summary", sent=result.sent), file=sys.stderr)
    for state, n in counts.items():
        print(f"{state}\t{n}")
    return Exit.OK
