"""SQL scripts split into statements, for drivers that run one statement per ``execute``.

The one splitter of the project: the store's migrations, the spool's schema and the registry's schema (SQLite or
PostgreSQL) go through it. It only splits text; it never runs SQL.
"""

from __future__ import annotations

import sqlite3


def statements(sql: str) -> list[str]:
    """The statements of ``sql``, in order, each stripped and ending with its ``;``.

    A statement ends at the first ``;`` after which :func:`sqlite3.complete_statement` says the text so far is
    complete, so a ``;`` inside a string literal, a quoted name, a comment or a trigger's ``BEGIN ... END`` does not
    end it. Comments stay with the statement that follows them; empty statements and pieces of only comments and
    whitespace are dropped. Text after the last ``;`` is returned as a final statement (without a ``;``), so it is
    run - and a driver refuses it if it is incomplete - rather than silently lost.

    The rules are SQLite's: PostgreSQL-only quoting (``$$ ... $$`` bodies, ``E'...'`` backslash escapes) is not
    understood, so keep such statements out of scripts shared by both backends.
    """
    found, start = [], 0
    end = sql.find(";")
    while end != -1:
        if sqlite3.complete_statement(sql[start:end + 1]):
            _keep(found, sql[start:end + 1])
            start = end + 1
        end = sql.find(";", end + 1)
    _keep(found, sql[start:])
    return found


def _keep(found: list[str], piece: str) -> None:
    piece = piece.strip()
    if piece and not _only_comments(piece):
        found.append(piece)


def _only_comments(piece: str) -> bool:
    """Whether ``piece`` holds nothing but comments, whitespace and a final ``;``."""
    i, n = 0, len(piece)
    while i < n:
        if piece[i].isspace():
            i += 1
        elif piece.startswith("--", i):
            newline = piece.find("\n", i)
            i = n if newline == -1 else newline + 1
        elif piece.startswith("/*", i):
            close = piece.find("*/", i + 2)
            i = n if close == -1 else close + 2
        else:
            return piece[i:] == ";"
    return True
