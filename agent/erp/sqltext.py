"""Small SQL text helpers: the SELECT-only guard and named-parameter handling for mapping files."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

_FORBIDDEN = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "REPLACE",
        "DROP",
        "ALTER",
        "CREATE",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "EXEC",
        "EXECUTE",
        "CALL",
        "INTO",
        "COPY",
        "ATTACH",
        "DETACH",
        "PRAGMA",
        "VACUUM",
        "LOCK",
        "SET",
        "DECLARE",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "LOAD",
        "HANDLER",
        "OUTFILE",
    }
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


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


def check_select_only(sql: str) -> str | None:
    """Returns why ``sql`` is not a single read-only SELECT, or None if it is one.

    Args:
        sql: A statement from a mapping file.
    """
    code = " ".join(text for kind, text in _segments(sql) if kind == "code")
    stripped = code.strip().rstrip(";").strip()
    if ";" in stripped:
        return "holds more than one statement (';')"
    words = [w.upper() for w in _WORD.findall(stripped)]
    if not words or words[0] not in {"SELECT", "WITH"}:
        return "is not a SELECT statement (it must start with SELECT or WITH)"
    bad = sorted(_FORBIDDEN.intersection(words))
    if bad:
        return f"contains {', '.join(bad)}; only read-only SELECT statements are allowed"
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
