"""SQL mapping files: every query the agent runs, as SQL with named parameters, editable without code.

The agent ships default mappings for the demo schema (``agent/erp/mapping/*.toml``). A merchant's mapping file
overrides single queries by name; everything it does not name keeps the default. Each query has a
:class:`QuerySpec` in code that says which parameters it may use and which result columns the code reads; a
mapping that breaks a spec is refused at start with an error naming the file, the query and the problem.

File format (TOML), one table per query::

    [get_order_header]
    sql = '''
    SELECT o.order_no AS order_number, ...
    FROM orders o WHERE o.order_no = :order_number AND o.customer_no = :customer_number
    '''
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from onlineconnect.errors import ConfigError

from .sqltext import check_select_only, parameter_names


@dataclass(frozen=True)
class QuerySpec:
    """What the code expects of one mapped query.

    Attributes:
        name: The query's name in mapping files.
        params: Named parameters the query may use (it need not use all).
        columns: Result columns the code reads; the query may return more.
        doc: One line for ``agent check`` and the mapping docs.
    """

    name: str
    params: frozenset[str]
    columns: tuple[str, ...]
    doc: str = ""


SPECS: dict[str, QuerySpec] = {}

# Modules that register query specs at import time; load_mapping imports them so every spec is known.
SPEC_MODULES = ("onlineconnect.agent.orders.specs", "onlineconnect.agent.stock.queries")


def register(
    name: str, *, params: tuple[str, ...] | list[str], columns: tuple[str, ...] | list[str], doc: str = ""
) -> QuerySpec:
    """Declares a query the agent runs. Called at import time by the modules that run queries."""
    spec = QuerySpec(name=name, params=frozenset(params), columns=tuple(columns), doc=doc)
    SPECS[name] = spec
    return spec


@dataclass(frozen=True)
class MappedQuery:
    """One query as loaded: its SQL and the file it came from (for error messages)."""

    name: str
    sql: str
    source: str


@dataclass(frozen=True)
class Mapping:
    """The effective mapping: defaults with the merchant's overrides applied."""

    queries: dict[str, MappedQuery] = field(default_factory=dict)

    def sql(self, name: str) -> str:
        """Returns the SQL of query ``name``."""
        try:
            return self.queries[name].sql
        except KeyError:
            raise ConfigError(f"mapping has no query {name!r}") from None


def _read(source: str, text: str) -> dict[str, MappedQuery]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    out: dict[str, MappedQuery] = {}
    for name, table in data.items():
        if not isinstance(table, dict) or not isinstance(table.get("sql"), str):
            raise ConfigError(f"{source}: [{name}] must be a table with a string key 'sql'")
        extra = set(table) - {"sql", "doc"}
        if extra:
            raise ConfigError(f"{source}: [{name}] has unknown keys {sorted(extra)}; expected 'sql' (and 'doc')")
        out[name] = MappedQuery(name=name, sql=table["sql"].strip(), source=source)
    return out


def default_files() -> list[tuple[str, str]]:
    """Returns (name, text) of the default mapping files shipped with the agent."""
    base = resources.files("onlineconnect.agent.erp") / "mapping"
    return sorted(
        (f"<default>/{p.name}", p.read_text(encoding="utf-8")) for p in base.iterdir() if p.name.endswith(".toml")
    )


def load_specs() -> None:
    """Imports every module that registers query specs, so :data:`SPECS` is complete."""
    for module in SPEC_MODULES:
        importlib.import_module(module)


def agent_parameters() -> frozenset[str]:
    """Every parameter the agent binds itself in some query (a tenant's mapping parameters must differ)."""
    load_specs()
    return frozenset().union(*(spec.params for spec in SPECS.values()))


def load_mapping(override: Path | None = None, *, defaults: bool = True, params: Iterable[str] = ()) -> Mapping:
    """Loads the default mapping and applies ``override`` on top, then checks it statically.

    Args:
        override: A merchant's mapping file, or None.
        defaults: Start from the shipped defaults (False: the override must define every query).
        params: Names of the tenant's mapping parameters (``[[tenants]] params``); every query may use them.

    Raises:
        ConfigError: a file is unreadable, a query is unknown, not SELECT-only, uses parameters its spec does not
            allow, or a required query is missing.
    """
    load_specs()
    queries: dict[str, MappedQuery] = {}
    if defaults:
        for source, text in default_files():
            queries.update(_read(source, text))
    if override is not None:
        try:
            text = override.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{override}: cannot read mapping file: {exc.strerror}") from exc
        queries.update(_read(str(override), text))
    extra = frozenset(params)
    for q in queries.values():
        check_query(q, extra)
    missing = sorted(set(SPECS) - set(queries))
    if missing:
        raise ConfigError(f"mapping lacks queries {missing}")
    return Mapping(queries=queries)


def check_query(q: MappedQuery, params: frozenset[str] = frozenset()) -> None:
    """Checks one query against its spec without a database (SELECT-only, known name, allowed parameters).

    Args:
        q: The query.
        params: The tenant's mapping parameters, allowed in every query besides those of its spec.
    """
    spec = SPECS.get(q.name)
    if spec is None:
        raise ConfigError(f"{q.source}: [{q.name}] is not a query the agent knows; known: {sorted(SPECS)}")
    why = check_select_only(q.sql)
    if why:
        raise ConfigError(f"{q.source}: [{q.name}] {why}")
    allowed = spec.params | params
    unknown = sorted(set(parameter_names(q.sql)) - allowed)
    if unknown:
        raise ConfigError(
            f"{q.source}: [{q.name}] uses parameters {[':' + u for u in unknown]}; allowed: "
            f"{sorted(':' + p for p in allowed)} (a tenant's own values, such as :mandant, are defined by "
            "params in its [[tenants]] table)"
        )
