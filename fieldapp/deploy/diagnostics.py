"""``fieldapp diagnostics --out FILE.zip``: what IT needs to help, and no one's personal data.

The archive holds ``manifest.json``, ``versions.json`` (app, Python, SQLCipher, Qt, OS), ``settings.json``
(desktop settings and the provisioning summary: no login names, no secrets), ``store.json`` (file sizes and
modes, key-slot summary; with ``--user``: schema version, counts by state, users by role, integrity check),
``sync.json`` (device ID, server URL, spool counts, batch attempts and last error codes) and ``logs/``.

Nothing in it is read from a record except, when unlocked, the values used to *redact*: every log line is
scrubbed with patterns (9+ digit runs, phone numbers, e-mail addresses, Khmer text) and, when a user unlocked the
store, every record's names, national ID and phone numbers are masked too. Paths have the home folder and the
operating-system account name replaced. The archive is written atomically and owner-only.
"""

from __future__ import annotations

import getpass
import io
import json
import os
import re
import stat
import zipfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from fieldapp.base import encoding, fsutil
from fieldapp.base.logs import scrub
from fieldapp.base.fsutil import read_json
from fieldapp.base.paths import DataDir, legacy_log_dir, resolve_log_dir

MAX_LOG_BYTES = 4_000_000  # per file: the rotating logs are 1 MB each


class Redactor:
    """Masks planted-data shapes, and (when known) the exact personal values of the store's records."""

    def __init__(self, values=()):
        self.values = sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True)
        self.count = 0
        self._home = str(Path.home())
        try:
            self._account = getpass.getuser()
        except Exception:  # noqa: BLE001 - no account name to hide
            self._account = None

    def path(self, p) -> str:
        text = str(p)
        if self._home and len(self._home) > 1:
            text = text.replace(self._home, "~")
        if self._account and len(self._account) >= 3:
            text = re.sub(r"(?<=[/\\])" + re.escape(self._account) + r"(?=[/\\]|$|\")", "[account]", text, flags=re.I)
        return text

    def __call__(self, text: str, patterns: bool = True) -> str:
        """``text`` with the known values masked, and (``patterns``, for log lines) data-shaped text too."""
        before = text
        for value in self.values:
            text = text.replace(value, "[redacted]")
        text = self.path(text)
        text = scrub(text) if patterns else text
        if text != before:
            self.count += 1
        return text


def personal_values(session) -> list[str]:
    """Every record's names, national ID and phone (in the forms they may appear in), to redact them."""
    out = []
    for (data,) in session.conn.execute("SELECT data FROM records"):
        try:
            rec = json.loads(data)
        except ValueError:
            continue
        for person in [rec] + list(rec.get("dependents") or []):
            for field in ("family_name", "given_name", "family_name_latin", "given_name_latin"):
                if isinstance(person.get(field), str):
                    out.append(person[field])
        if rec.get("family_name") and rec.get("given_name"):
            out.append(f"{rec['family_name']} {rec['given_name']}")
        for field in ("national_id", "phone"):
            value = rec.get(field)
            if isinstance(value, str):
                digits = "".join(ch for ch in value if ch.isdigit())
                out += [value, digits] + (["0" + digits[3:], "+855" + digits[3:]] if digits.startswith("855") else [])
    return out


# -- sections ---------------------------------------------------------------------------------------------------------
def _files(data_dir: Path, redact: Redactor) -> dict:
    out = {}
    for root in (data_dir, DataDir(data_dir).backups):
        if not root.is_dir():
            continue
        for p in sorted(root.iterdir()):
            if p.is_file():
                st = p.stat()
                out[str(p.relative_to(data_dir))] = {"bytes": st.st_size, "mode": oct(stat.S_IMODE(st.st_mode)),
                                                     "modified": datetime.fromtimestamp(st.st_mtime, timezone.utc)
                                                     .isoformat(timespec="seconds")}
    return {"data_dir": redact.path(data_dir), "files": out}


def _slots(data_dir: Path) -> dict:
    from fieldapp.store.keyslots import SlotFile

    try:
        slots = SlotFile.load(DataDir(data_dir).slots)
    except Exception as exc:  # noqa: BLE001
        return {"readable": False, "error": type(exc).__name__}
    passwords = [s for s in slots.data["slots"] if s.get("type") == "password"]
    recovery = [s for s in slots.data["slots"] if s.get("type") == "recovery"]
    escrow = slots.escrow()
    try:
        escrow_ok = read_json(DataDir(data_dir).escrow) == escrow if escrow else None
    except (OSError, ValueError, UnicodeDecodeError):
        escrow_ok = False
    return {"readable": True, "password_slots": len(passwords), "recovery_slot": bool(recovery),
            "recovery_recipient": recovery[0].get("recipient") if recovery else None,
            "recovery_escrow_matches": escrow_ok,
            "kdf": sorted({f"argon2id m={s['kdf'].get('memory_kib')} t={s['kdf'].get('iterations')} "
                           f"p={s['kdf'].get('lanes')}" for s in passwords if isinstance(s.get("kdf"), dict)})}


def _unlocked(session) -> dict:
    from fieldapp.outbound import checks, keystore
    from fieldapp.store import migrations, records, trusted
    from fieldapp.store.verify import verify

    conn = session.conn
    roles = dict(conn.execute("SELECT role || CASE disabled WHEN 1 THEN ' (disabled)' ELSE '' END, count(*) "
                              "FROM users GROUP BY 1").fetchall())
    return {"schema_version": migrations.current_version(conn), "latest_schema": migrations.LATEST,
            "records_by_state": records.counts(session), "users_by_role": roles,
            "audit_events": conn.execute("SELECT count(*) FROM audit").fetchone()[0],
            "outbox_unpublished": conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0],
            "last_backup_at": conn.execute("SELECT max(ts) FROM audit WHERE event = 'store.backup'").fetchone()[0],
            "verify_problems": [msg_id for msg_id, _params in verify(session) + checks.problems(session)],
            "trusted_facts": sorted(trusted.all_values(conn)),  # which facts the store holds (names only)
            "keystore": keystore.describe()}


def _settings(data_dir: Path, redact: Redactor) -> dict:
    from fieldapp.base import config
    from fieldapp.deploy import provisioned

    conf = asdict(config.load(data_dir))
    conf["last_user"] = bool(conf.get("last_user"))  # a login name: say only whether one is remembered
    payload = provisioned.applied(data_dir)
    prov = None
    if payload:
        reg = payload["registry"]
        import hashlib

        prov = {k: payload.get(k) for k in ("label", "issued_at", "language", "idle_minutes", "defaults", "sync")}
        prov.update({"server_url": reg["url"], "pins": len(reg.get("pins", [])),
                     "ca_sha256": hashlib.sha256(reg["ca_pem"].encode()).hexdigest() if reg.get("ca_pem") else None,
                     "registry_seal_public_key": reg["seal_public_key"],
                     "registry_sign_public_key": reg["sign_public_key"],
                     "recovery_public_key": bool(payload.get("recovery_public_key")),
                     "signed_by": (provisioned._applied_doc(data_dir) or {}).get("signed_by")})
    env = {k: (redact.path(v) if k in ("FIELDAPP_DATA_DIR", "FIELDAPP_LOG_DIR", "FIELDAPP_PROVISIONING_FILE")
               else "(set)") for k, v in sorted(os.environ.items()) if k.startswith(("FIELDAPP_", "QT_QPA"))}
    return {"desktop": conf, "provisioning": prov, "environment": env,
            "log_dir": redact.path(resolve_log_dir())}


def _sync(data_dir: Path) -> dict:
    from fieldapp.deploy import provisioned
    from fieldapp.outbound.status import delivery_status, error_name

    out: dict = {"provisioned_registry": provisioned.check_device(data_dir)}
    status = delivery_status(data_dir)
    if status.device_error is not None:
        out["device"] = "unreadable"
    else:
        out["device"] = None if not status.registered else {
            "device_id": status.device_id, "server_url": status.server_url, "registered_at": status.registered_at,
            "ca_file": bool(status.ca_file), "pins": status.pins}
    if not status.spool_present:
        out["spool"] = None
    elif status.spool_error is not None:
        out["spool"] = {"error": error_name(status.spool_error)}
    else:
        s = status.summary
        out["spool"] = {key: s[key] for key in ("items_by_state", "quarantine_reasons", "batches_by_state", "attempts",
                                                "last_errors")}
        out["spool"].update(last_activity=_iso(s["last_activity"]), meta=s["meta"])
    return out


def _iso(ts) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds") if ts else None


def _log_files(data_dir: Path) -> list[tuple[str, Path]]:
    out, seen = [], []
    for label, folder in (("logs", resolve_log_dir()), ("logs-in-data-folder", legacy_log_dir(data_dir))):
        if folder.is_dir() and not any(os.path.samefile(folder, s) for s in seen):  # Windows: Logs == logs
            seen.append(folder)
            out += [(f"{label}/{p.name}", p) for p in sorted(folder.iterdir()) if p.is_file() and ".log" in p.name]
    return out


def build(data_dir, out_path, session=None) -> dict:
    """Write the archive to ``out_path`` (must not exist); returns the manifest."""
    from fieldapp import __version__
    from fieldapp.deploy import selftest

    data_dir, out_path = Path(data_dir), Path(out_path)
    redact = Redactor(personal_values(session) if session is not None else ())
    store = {"files": _files(data_dir, redact), "key_slots": _slots(data_dir),
             "unlocked": session is not None}
    if session is not None:
        store.update(_unlocked(session))
    sections = {"versions.json": selftest.versions(), "settings.json": _settings(data_dir, redact),
                "store.json": store, "sync.json": _sync(data_dir)}
    manifest = {"format": "fieldapp-diagnostics", "version": 1, "fieldapp": __version__,
                "created_at": encoding.now_iso_seconds(),
                "unlocked": session is not None, "logs": []}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, obj in sections.items():
            zf.writestr(name, redact(json.dumps(obj, indent=1, sort_keys=True, ensure_ascii=False, default=str),
                                     patterns=False))
        for arcname, path in _log_files(data_dir):
            try:
                with open(path, "rb") as fh:
                    size = os.fstat(fh.fileno()).st_size
                    fh.seek(max(0, size - MAX_LOG_BYTES))
                    text = fh.read().decode("utf-8", errors="replace")
            except OSError:
                continue
            zf.writestr(arcname, "\n".join(redact(line) for line in text.splitlines()) + "\n")
            manifest["logs"].append(arcname)
        manifest["redacted_lines"] = redact.count
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    if out_path.exists():
        from fieldapp.base.errors import FieldappError

        raise FieldappError("deploy.file_exists", path=str(out_path))
    fsutil.atomic_write(out_path, buf.getvalue())
    return manifest
