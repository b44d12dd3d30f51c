"""sqlite-utils over SQLCipher: its error handling must catch SQLCipher's exceptions."""

import subprocess
import sys

from helpers.clitools import ROOT
from fieldapp.store import dbapi

KEY = bytes(range(32))


def _db(tmp_path):
    conn = dbapi.open_encrypted(str(tmp_path / "t.db"), KEY)
    return dbapi.Database(conn, execute_plugins=False)


def test_insert_alter_adds_columns_on_sqlcipher(tmp_path):
    db = _db(tmp_path)
    db["t"].insert({"a": 1})
    db["t"].insert({"a": 2, "b": "new column"}, alter=True)  # needs sqlite-utils to catch the driver's error
    assert db["t"].columns_dict == {"a": int, "b": str}
    assert db.execute("select count(*) from t").fetchone()[0] == 2


def test_drop_ignore_and_transform(tmp_path):
    db = _db(tmp_path)
    db["missing"].drop(ignore=True)
    db["t"].insert({"id": 1, "a": "x"}, pk="id")
    db["t"].transform(rename={"a": "b"})
    assert "b" in db["t"].columns_dict


def test_sqlite_utils_uses_sqlcipher_errors():
    from sqlite_utils import utils

    assert utils.OperationalError is dbapi.OperationalError
    assert utils.sqlite3.__name__ == "sqlcipher3"


def test_without_the_shim_sqlite_utils_misses_sqlcipher_errors(tmp_path):
    """Documents the problem the shim solves: imported first, sqlite-utils does not catch SQLCipher errors."""
    code = f"""
import sqlite_utils, sqlcipher3
conn = sqlcipher3.connect({str(tmp_path / 'raw.db')!r})
conn.execute("PRAGMA key = \\"x'{KEY.hex()}'\\"")
db = sqlite_utils.Database(conn)
db['t'].insert({{'a': 1}})
try:
    db['t'].insert({{'a': 2, 'b': 'x'}}, alter=True)
    print('caught')
except sqlcipher3.OperationalError:
    print('escaped')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "escaped", out.stderr


def test_wrong_key_is_refused(tmp_path):
    _db(tmp_path)["t"].insert({"a": 1})
    try:
        dbapi.open_encrypted(str(tmp_path / "t.db"), bytes(32))
    except dbapi.DatabaseError:
        pass
    else:
        raise AssertionError("opened with the wrong key")


def test_file_has_no_plaintext(tmp_path):
    db = _db(tmp_path)
    db["t"].insert({"name": "PLAINTEXT-MARKER-123"})
    db.conn.close()
    assert b"PLAINTEXT-MARKER-123" not in (tmp_path / "t.db").read_bytes()
    assert b"SQLite format 3" not in (tmp_path / "t.db").read_bytes()[:16]
