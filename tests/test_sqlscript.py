"""fieldapp.base.sqlscript.statements: the one SQL script splitter (migrations, spool, registry schema)."""

import sqlite3

import pytest

from fieldapp.base.sqlscript import statements
from fieldapp.outbound.spool import _SCHEMA as SPOOL_SCHEMA
from fieldapp.store import dbapi
from fieldapp.store.migrations import MIGRATIONS

TRIGGER = """CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN
  INSERT INTO log (x) VALUES (new.x);
  UPDATE counts SET n = n + 1;
END;"""


def test_plain_statements_are_split_stripped_and_keep_their_semicolon():
    sql = "\n CREATE TABLE a (x);\nCREATE TABLE b (y);  \n"
    assert statements(sql) == ["CREATE TABLE a (x);", "CREATE TABLE b (y);"]


def test_several_statements_on_one_line():
    assert statements("SELECT 1; SELECT 2;") == ["SELECT 1;", "SELECT 2;"]


def test_a_trigger_keeps_the_semicolons_of_its_body():
    sql = f"CREATE TABLE t (x);\n{TRIGGER}\nCREATE INDEX t_x ON t (x);\n"
    assert statements(sql) == ["CREATE TABLE t (x);", TRIGGER, "CREATE INDEX t_x ON t (x);"]


def test_a_one_line_trigger_in_lower_case():
    trigger = "create temp trigger no_del before delete on t begin select raise(abort, 'no; never'); end;"
    assert statements(f"{trigger} select 1;") == [trigger, "select 1;"]


def test_a_semicolon_inside_a_string_literal_or_a_quoted_name():
    sql = "INSERT INTO t VALUES ('a;b', 'it''s; fine');\nCREATE TABLE \"odd;name\" (x);"
    assert statements(sql) == ["INSERT INTO t VALUES ('a;b', 'it''s; fine');", 'CREATE TABLE "odd;name" (x);']


def test_comments_stay_with_the_next_statement_and_comment_only_pieces_go():
    sql = ("-- the table; explained\nCREATE TABLE a (x); -- trailing; note\n"
           "/* block; comment */ CREATE TABLE b (y);\n-- nothing after this\n/* nor; this */\n")
    assert statements(sql) == ["-- the table; explained\nCREATE TABLE a (x);",
                               "-- trailing; note\n/* block; comment */ CREATE TABLE b (y);"]


def test_trailing_text_without_a_semicolon_is_the_last_statement():
    assert statements("CREATE TABLE a (x);\nCREATE TABLE b (y)\n") == ["CREATE TABLE a (x);", "CREATE TABLE b (y)"]
    # an unfinished trigger is handed on whole, so the driver refuses it instead of running half of it
    assert statements("CREATE TRIGGER t BEGIN SELECT 1;") == ["CREATE TRIGGER t BEGIN SELECT 1;"]


@pytest.mark.parametrize("sql", ["", "   \n\t", ";", " ; ;\n;", "-- only a comment", "/* only */ ;", "-- a\n-- b;\n"])
def test_nothing_to_run(sql):
    assert statements(sql) == []


def test_every_piece_runs_alone_on_sqlite():
    """Each piece is one statement: the drivers refuse more than one per ``execute``. (SQLCipher's SQLite: the
    migrations need a newer FTS5 than the system's may be.)"""
    conn = dbapi.connect(":memory:")
    scripts = [s if isinstance(s, str) else s[0] for _, _, s in MIGRATIONS] + [SPOOL_SCHEMA]
    for script in scripts:
        for stmt in statements(script):
            assert sqlite3.complete_statement(stmt)
            conn.execute(stmt)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"audit_no_update", "audit_no_delete", "records_fts_ai", "records_fts_au", "records_fts_ad"} <= names


def test_the_registry_schema_splits_into_its_tables():
    from registry.storage import SCHEMA

    pieces = statements(SCHEMA.format(serial="INTEGER PRIMARY KEY"))
    assert all(p.startswith("CREATE ") and p.endswith(";") for p in pieces)
    assert len(pieces) == SCHEMA.count(";")
