"""The value contract of mapped query results: what form each column's values must have, checked on real rows.

The agent reads columns by name (``docs/erp-databases.md`` lists them); their names also fix the form of their
values:

* money (``*_minor``): integer minor units, 11445 for 114,45 € (not euros, not a fraction);
* dates (``order_date``, ``delivered_on``, …): DATE/DATETIME values or ISO text ``YYYY-MM-DD``;
* the timestamp ``at``: DATETIME or ISO 8601 text;
* quantities and counts (``qty_*``, ``quantity``, ``on_hand``, …): integers, or numbers exactly equal to one
  (a NUMERIC 2.0 is fine, 2.5 is reported, never truncated);
* flags (``cancelled``, ``display_only``, …): booleans, 0/1 or J/N (Y/N, T/F, true/false) — the same forms in
  every query;
* coordinates: numbers.

Two uses. :func:`check_rows` runs on every result the agent fetches: a value outside the contract becomes
UNAVAILABLE "ERP data error" for the shop and one log line ``erp.data_error`` naming query, column and the
expected form (never the value: it may be customer data). :func:`sample_findings` is for ``check`` and the
agent's start: it samples real rows of every mapped query (its filters on request parameters removed, so rows of
any customer count) and reports each value outside the contract with query, column, value and expectation, plus a
cross-check that an order's total equals its lines (fees are lines too) within a cent, which catches euros
returned where cents belong.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import sqlglot
import sqlglot.errors
import structlog
from sqlglot import exp

from onlineconnect.errors import Unavailable

from .mapping import SPECS
from .sqltext import SQLGLOT_DIALECT

log = structlog.get_logger(__name__)

DATA_ERROR = "ERP data error"
SAMPLE_ROWS = 50
SAMPLE_ORDERS = 5  # orders whose lines are summed for the total cross-check
SAMPLE_TIMEOUT = 5.0  # a sample that takes longer is skipped with a note: the run-time check still applies

_DATES = frozenset(
    {
        "order_date",
        "delivered_on",
        "expected_date",
        "shipped_on",
        "doc_date",
        "requested_on",
        "replacement_shipped_on",
        "closed_on",
    }
)
_INTEGERS = frozenset({"quantity", "on_hand", "reserved", "line_number", "document_count", "weekday", "sort_order"})
_FLAGS = frozenset({"processing_started", "on_hold", "cancelled", "display_only", "pickup_possible"})
_NUMBERS = frozenset({"latitude", "longitude"})
FLAG_WORDS = frozenset({"1", "0", "J", "N", "Y", "T", "F", "TRUE", "FALSE", "JA", "NEIN", "YES", "NO"})

EXPECTED = {
    "money": "integer minor units (cents: 11445 for 114.45)",
    "date": "an ISO date (a DATE column or text YYYY-MM-DD)",
    "timestamp": "an ISO 8601 timestamp (a DATETIME column or text like 2014-07-13T09:12:00)",
    "integer": "a whole number (an integer, or a NUMERIC without fraction)",
    "flag": "a flag: boolean, 0/1 or J/N",
    "number": "a number",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])")
_INT_TEXT = re.compile(r"^\s*-?\d+\s*$")


def column_kind(column: str) -> str | None:
    """The contract kind of a result column by its name (case ignored); None for free text and code words."""
    c = column.lower()
    if c.endswith("_minor"):
        return "money"
    if c in _DATES:
        return "date"
    if c == "at":
        return "timestamp"
    if c.startswith("qty_") or c in _INTEGERS:
        return "integer"
    if c in _FLAGS:
        return "flag"
    if c in _NUMBERS:
        return "number"
    return None


_kind = functools.lru_cache(maxsize=512)(column_kind)


def _whole(value: Any) -> bool:
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, Decimal):
        return value.is_finite() and value == value.to_integral_value()
    return isinstance(value, str) and _INT_TEXT.match(value) is not None


def fits(kind: str, value: Any) -> bool:
    """True when ``value`` has a form the contract allows for ``kind``; NULL always fits."""
    if value is None:
        return True
    if kind in ("money", "integer"):
        return _whole(value)
    if kind == "date":
        if isinstance(value, dt.date):
            return True
        if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
            return False
        try:
            dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return False
        return True
    if kind == "timestamp":
        if isinstance(value, dt.date):
            return True
        try:
            dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            return False
        return True
    if kind == "flag":
        if isinstance(value, bool):
            return True
        if isinstance(value, int | Decimal | float):
            return value in (0, 1)
        return isinstance(value, str) and value.strip().upper() in FLAG_WORDS
    if kind == "number":
        if isinstance(value, int | float | Decimal):
            return True
        try:
            float(str(value))
        except ValueError:
            return False
        return True
    return True


@dataclass(frozen=True)
class Finding:
    """One value outside the contract."""

    query: str
    column: str
    value: Any
    expected: str

    def __str__(self) -> str:
        return f"[{self.query}] column {self.column} returned {self.value!r}; expected {self.expected}"


def bad_value(query: str, row: Mapping[str, Any]) -> Finding | None:
    """The first value of ``row`` outside the contract, or None."""
    for column, value in row.items():
        if value is None:
            continue
        kind = _kind(column)
        if kind is None or (type(value) is int and kind != "flag"):  # the common case, checked cheaply
            continue
        if not fits(kind, value):
            return Finding(query, column, value, EXPECTED[kind])
    return None


def check_rows(query: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """Refuses a result with a value outside the contract.

    Raises:
        Unavailable: "ERP data error"; the log line ``erp.data_error`` names query, column and expected form.
    """
    for row in rows:
        found = bad_value(query, row)
        if found is not None:
            log.error(
                "erp.data_error",
                query=query,
                column=found.column,
                expected=found.expected,
                got=type(found.value).__name__,
                fix="correct the column's SQL in the mapping file; onlineconnect-agent check shows the value",
            )
            raise Unavailable(DATA_ERROR)


class Sampler(Protocol):
    """A database that runs ad-hoc read-only SQL (both database classes do)."""

    def sample(
        self, sql: str, params: Mapping[str, Any], *, limit: int | None = None, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """Runs ``sql`` in a read-only transaction that is rolled back; returns at most ``limit`` rows."""
        ...

    @property
    def sql_dialect(self) -> str | None:
        """The sqlglot dialect of the database, None when unknown."""
        ...


def relaxed_sql(sql: str, dialect: str | None, *, keep: frozenset[str] = frozenset(), limit: int | None) -> str:
    """``sql`` with each condition on a request parameter not in ``keep`` replaced by ``1 = 1``.

    ``WHERE a.kdnr = :customer_number AND a.belegnr = :order_number`` with ``keep={"order_number"}`` becomes
    ``WHERE 1 = 1 AND a.belegnr = :order_number``: rows of every customer count as samples.

    Raises:
        sqlglot.errors.SqlglotError: the statement cannot be parsed in ``dialect``.
    """
    tree = sqlglot.parse_one(sql, read=dialect)
    for ph in list(tree.find_all(exp.Placeholder)):
        if ph.name in keep:
            continue
        cond = ph.find_ancestor(exp.Predicate)
        if cond is not None and cond.parent is not None:
            cond.replace(exp.EQ(this=exp.Literal.number(1), expression=exp.Literal.number(1)))
    for ph in list(tree.find_all(exp.Placeholder)):
        ph.replace(exp.Var(this=f":{ph.name}"))  # every dialect's generator keeps a Var as written
    if limit is not None and isinstance(tree, exp.Select) and tree.args.get("limit") is None:
        tree = tree.limit(limit)
    return tree.sql(dialect=dialect)


def _lower(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k.lower(): v for k, v in r.items()} for r in rows]


def sample_findings(db: Sampler, sql_of: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Samples real rows of every mapped query and checks them against the contract.

    Args:
        db: The database.
        sql_of: The mapped SQL by query name.

    Returns:
        (findings, notes): each finding names query, column, value and expectation; notes say which queries
        could not be sampled (not a failure: the run-time check still guards them).
    """
    findings: list[str] = []
    notes: list[str] = []
    dialect = db.sql_dialect
    samples: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(SPECS):
        if name not in sql_of:
            continue
        try:
            rows = db.sample(
                relaxed_sql(sql_of[name], dialect, limit=SAMPLE_ROWS), {}, limit=SAMPLE_ROWS, timeout=SAMPLE_TIMEOUT
            )
        except sqlglot.errors.SqlglotError as exc:
            notes.append(f"[{name}] not sampled: the parser cannot rewrite it ({str(exc).splitlines()[0][:120]})")
            continue
        except Exception as exc:
            notes.append(f"[{name}] not sampled: {first_line(exc)}")
            continue
        rows = _lower(rows)
        samples[name] = rows
        seen: set[str] = set()
        for row in rows:
            for column, value in row.items():
                kind = column_kind(column)
                if kind is None or column in seen or fits(kind, value):
                    continue
                seen.add(column)
                findings.append(str(Finding(name, column, value, EXPECTED[kind])))
    findings.extend(_total_findings(db, sql_of, samples.get("orders_header", []), dialect, notes))
    return findings, notes


def _total_findings(
    db: Sampler, sql_of: Mapping[str, str], headers: list[dict[str, Any]], dialect: str | None, notes: list[str]
) -> list[str]:
    """Orders whose total differs from the sum of their lines by more than a cent (euros where cents belong)."""
    if "orders_lines" not in sql_of:
        return []
    out: list[str] = []
    try:
        lines_sql = relaxed_sql(sql_of["orders_lines"], dialect, keep=frozenset({"order_number"}), limit=None)
    except sqlglot.errors.SqlglotError:
        return []
    checked = 0
    for header in headers:
        total: Any = header.get("total_minor")
        number = header.get("order_number")
        if checked >= SAMPLE_ORDERS or total is None or not _whole(total) or number is None:
            continue
        try:
            lines = _lower(db.sample(lines_sql, {"order_number": number}, timeout=SAMPLE_TIMEOUT))
        except Exception as exc:
            notes.append(f"[orders_lines] not sampled for the total cross-check: {first_line(exc)}")
            return out
        amounts: list[Any] = [r["line_total_minor"] for r in lines if r.get("line_total_minor") is not None]
        if not lines or not all(_whole(a) for a in amounts):
            continue
        checked += 1
        line_sum = sum(int(a) for a in amounts)
        if abs(int(total) - line_sum) > 1:
            out.append(
                f"[orders_header] order {str(number).strip()}: total_minor {int(total)} differs from the sum "
                f"{line_sum} of its lines' line_total_minor ([orders_lines]); expected the same amount in minor "
                "units (cents) — is one of them in euros?"
            )
            break  # one order shows the mistake; the others would repeat it
    return out


def first_line(exc: BaseException) -> str:
    """The first line of a (driver) error, without SQLAlchemy's appended statement."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def dialect_of(kind: str) -> str | None:
    """The sqlglot dialect of a database kind (``dbms_kind``), None when unknown."""
    return SQLGLOT_DIALECT.get(kind)
