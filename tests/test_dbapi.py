"""fieldapp.store.dbapi: the encrypted store's driver, its raw-key open and its error classes."""

import sqlite3

import pytest

from fieldapp.store import dbapi

KEY = bytes(range(32))


def _conn(tmp_path):
    conn = dbapi.open_encrypted(str(tmp_path / "t.db"), KEY)
    conn.execute("CREATE TABLE IF NOT EXISTS t (name TEXT)")
    return conn


def test_driver_errors_are_the_dbapi_classes_not_the_standard_librarys(tmp_path):
    conn = _conn(tmp_path)
    with pytest.raises(dbapi.OperationalError) as caught:
        conn.execute("SELECT * FROM missing")
    assert isinstance(caught.value, dbapi.DatabaseError)
    assert not isinstance(caught.value, sqlite3.Error)  # why the store catches dbapi.DatabaseError


def test_wrong_key_is_refused(tmp_path):
    conn = _conn(tmp_path)
    conn.execute("INSERT INTO t VALUES (?)", ("a",))
    conn.commit()
    conn.close()
    try:
        dbapi.open_encrypted(str(tmp_path / "t.db"), bytes(32))
    except dbapi.DatabaseError:
        pass
    else:
        raise AssertionError("opened with the wrong key")


def test_file_has_no_plaintext(tmp_path):
    conn = _conn(tmp_path)
    conn.execute("INSERT INTO t VALUES (?)", ("PLAINTEXT-MARKER-123",))
    conn.commit()
    conn.close()
    assert b"PLAINTEXT-MARKER-123" not in (tmp_path / "t.db").read_bytes()
    assert b"SQLite format 3" not in (tmp_path / "t.db").read_bytes()[:16]
