"""SQLCipher behind sqlite-utils.

sqlite-utils catches the standard library's ``sqlite3`` exceptions. SQLCipher's
driver (``sqlcipher3``) has its own exception classes, so paths such as
``insert(..., alter=True)`` or ``drop(ignore=True)`` would see an exception
they do not recognise. sqlite-utils looks for the ``pysqlite3`` module before
the standard library; we register ``sqlcipher3`` under that name *before*
sqlite-utils is first imported, so every ``except`` in sqlite-utils catches
SQLCipher's errors. This leans on sqlite-utils internals: the version is pinned
and ``tests/test_dbapi.py`` checks the behaviour.

Import ``Database`` and the error classes from here, never from sqlite_utils or
sqlite3 directly.
"""

from __future__ import annotations

import sys

import sqlcipher3
from sqlcipher3 import dbapi2

if "sqlite_utils" in sys.modules and "pysqlite3" not in sys.modules:
    raise ImportError("fieldapp.store.dbapi must be imported before sqlite_utils")
sys.modules.setdefault("pysqlite3", sqlcipher3)
sys.modules.setdefault("pysqlite3.dbapi2", dbapi2)

import sqlite_utils  # noqa: E402
from sqlite_utils import utils as _su_utils  # noqa: E402

if _su_utils.sqlite3 is not sqlcipher3:  # pragma: no cover - guarded by the check above
    raise ImportError("sqlite-utils did not pick up sqlcipher3")

Database = sqlite_utils.Database
DatabaseError = dbapi2.DatabaseError
OperationalError = dbapi2.OperationalError
IntegrityError = dbapi2.IntegrityError
connect = sqlcipher3.connect
SQLCIPHER_VERSION = sqlcipher3.sqlite_version


def open_encrypted(path: str, key: bytes, *, timeout: float = 10.0):
    """Open ``path`` with the raw 256-bit ``key``; no passphrase KDF runs.

    Raises ``DatabaseError`` when the key does not decrypt the first page.
    """
    if len(key) != 32:
        raise ValueError("SQLCipher key must be 32 bytes")
    conn = sqlcipher3.connect(path, timeout=timeout, check_same_thread=False)
    # SQLCipher writes its own errors to stderr; the app reports them in its own words instead.
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    # Touch the schema: with a wrong key or a damaged first page this raises.
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn
