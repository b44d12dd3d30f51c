"""The SQLCipher driver (``sqlcipher3``): opening the encrypted store and the driver's error classes.

Code that works on the encrypted store takes ``open_encrypted`` and the error classes from here: SQLCipher's driver
has its own exception classes, which ``except sqlite3.Error`` does not catch.
"""

from __future__ import annotations

import sqlcipher3
from sqlcipher3 import dbapi2

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
