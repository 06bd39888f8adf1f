"""Small SQL text helpers: the SELECT-only guard (a real SQL parser) and named-parameter handling for mapping files."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

import sqlglot
import sqlglot.errors
from sqlglot import exp


def _segments(sql: str) -> Iterator[tuple[str, str]]:
    """Splits SQL into ("code", text) and ("literal", text) parts; comments are dropped."""
    i, n, start = 0, len(sql), 0
    while i < n:
        c = sql[i]
        if c in "'\"`[":
            if start < i:
                yield "code", sql[start:i]
            close = "]" if c == "[" else c
            j = i + 1
            while j < n:
                if sql[j] == close:
                    if j + 1 < n and sql[j + 1] == close and close != "]":
                        j += 2
                        continue
                    break
                j += 1
            yield ("literal" if c == "'" else "ident"), sql[i : j + 1]
            i = start = j + 1
        elif sql.startswith("--", i):
            if start < i:
                yield "code", sql[start:i]
            j = sql.find("\n", i)
            i = start = n if j < 0 else j
        elif sql.startswith("/*", i):
            if start < i:
                yield "code", sql[start:i]
            j = sql.find("*/", i + 2)
            yield "code", " "
            i = start = n if j < 0 else j + 2
        else:
            i += 1
    if start < n:
        yield "code", sql[start:n]


# The dialects a mapping is parsed in before the database is known; validate() parses again in the database's own.
GUARD_DIALECTS = ("postgres", "mysql", "sqlite", "tsql")
# Database kinds (``db.dbms_kind``) to sqlglot dialects.
SQLGLOT_DIALECT = {"postgresql": "postgres", "mariadb": "mysql", "mysql": "mysql", "sqlite": "sqlite", "mssql": "tsql"}
# Built-in functions with side effects that no rollback undoes, or that reach outside the ERP's tables. A function
# the ERP defines itself cannot be known here: the read-only database user is what stops it (erp/privileges.py).
_SIDE_EFFECT_FUNCTIONS = frozenset(
    {
        "setval",
        "nextval",
        "lastval",
        "set_config",
        "pg_advisory_lock",
        "pg_advisory_xact_lock",
        "pg_try_advisory_lock",
        "pg_notify",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_rotate_logfile",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "lo_import",
        "lo_export",
        "lo_unlink",
        "lo_create",
        "dblink",
        "dblink_exec",
        "get_lock",
        "release_lock",
        "load_file",
        "sys_exec",
        "xp_cmdshell",
    }
)
# Nodes that change data or schema, lock rows, or were not understood as a query at all.
_FORBIDDEN_NODES: tuple[type[Any], ...] = (
    exp.DML,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Command,
    exp.Into,
    exp.Lock,
    exp.Set,
    exp.Pragma,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Use,
    exp.LoadData,
)
_QUERY_ROOTS = (exp.Select, exp.SetOperation)


def _statements(sql: str, dialect: str | None) -> list[Any]:
    """The statements of ``sql`` as sqlglot parses them in ``dialect`` (a lone trailing comment is no statement)."""
    with _quiet_sqlglot():
        parsed = sqlglot.parse(sql, read=dialect)
    return [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs what a dialect cannot express (FOR UPDATE in SQLite) as warnings; the guard reports it itself.
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _problem(statements: list[Any]) -> str | None:
    if len(statements) != 1:
        return f"holds {len(statements)} statements; exactly one SELECT is allowed"
    root = statements[0]
    if not isinstance(root, _QUERY_ROOTS):
        return f"is not a SELECT statement (it is {root.key.upper()}); only SELECT and WITH … SELECT are allowed"
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            what = "SELECT … INTO" if isinstance(node, exp.Into) else node.key.upper()
            if isinstance(node, exp.Lock):
                what = "FOR UPDATE/SHARE (a locking read)"
            return f"contains {what}; only read-only SELECT statements are allowed"
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _SIDE_EFFECT_FUNCTIONS:
                return f"calls {name}(), which has side effects; only read-only SELECT statements are allowed"
        if isinstance(node, exp.NextValueFor):
            return "uses NEXT VALUE FOR (advances a sequence); only read-only SELECT statements are allowed"
    return None


def check_select_only(sql: str, dialect: str | None = None) -> str | None:
    """Returns why ``sql`` is not a single read-only SELECT, or None if it is one.

    The statement is parsed with a real SQL parser (sqlglot), not scanned for keywords: quoting tricks (PostgreSQL
    dollar quotes, ``E'\\''`` escapes) that hide a second statement from a keyword scan are read as the database
    reads them. Without ``dialect`` it is parsed in every dialect of ``GUARD_DIALECTS`` and must be a plain SELECT in
    each that can parse it; with one, it must parse in that dialect.

    Args:
        sql: A statement from a mapping file.
        dialect: The sqlglot dialect of the database it runs on, when known.
    """
    dialects = (dialect,) if dialect is not None else GUARD_DIALECTS
    parsed = 0
    first_error = ""
    for d in dialects:
        try:
            statements = _statements(sql, d)
        except sqlglot.errors.SqlglotError as exc:
            first_error = first_error or str(exc).splitlines()[0][:200]
            continue
        parsed += 1
        why = _problem(statements)
        if why is not None:
            return why
    if parsed == 0:
        return f"cannot be parsed as SQL ({first_error}); only a single read-only SELECT is allowed"
    return None


_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=1024)
def parameter_names(sql: str) -> tuple[str, ...]:
    """Returns the named parameters (``:name``) a statement uses, in order of appearance, outside literals.

    Cached: the agent runs the same few mapped statements over and over.
    """
    names: list[str] = []
    for kind, text in _segments(sql):
        if kind == "code":
            names.extend(_PARAM.findall(text))
    return tuple(names)


def to_qmark(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Rewrites ``:name`` parameters to ODBC ``?`` markers and returns the positional values.

    Args:
        sql: Statement with named parameters.
        params: Values by name; every name the statement uses must be present.

    Returns:
        The rewritten statement and its values in marker order.
    """
    out: list[str] = []
    values: list[Any] = []

    def repl(m: re.Match[str]) -> str:
        value = params[m.group(1)]
        if isinstance(value, list | tuple):  # IN :names -> IN (?, ?, ?)
            values.extend(value)
            return "(" + ", ".join("?" * len(value)) + ")" if value else "(NULL)"
        values.append(value)
        return "?"

    for kind, text in _segments(sql):
        out.append(_PARAM.sub(repl, text) if kind == "code" else text)
    return "".join(out), values
