"""Mapping files: SELECT-only, single-query overrides, and the agent refusing to start when a query does not fit.

The start-up checks run through the real console script ``onlineconnect-agent --config FILE`` (exit code 2, the
problem on stderr naming the mapping file, the query and what is wrong).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from onlineconnect.agent.erp.db import SqlAlchemyDatabase, validate
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.errors import ConfigError

AGENT = Path(sys.executable).parent / "onlineconnect-agent"
HEADER = """
SELECT o.order_no AS order_number, o.order_date AS order_date, o.channel AS channel,
       o.shop_order_no AS shop_order_number, o.currency AS currency, o.total_minor AS total_minor,
       o.processing_started AS processing_started, o.on_hold AS on_hold, o.cancelled AS cancelled,
       o.delivered_on AS delivered_on
FROM orders o WHERE o.order_no = :order_number AND o.customer_no = :customer_number
"""


@pytest.fixture(scope="module")
def erp(erp: Path) -> Path:
    """The demo ERP's database file (the module's tests want the file, not its folder)."""
    return erp / "erp.db"


def mapping_file(folder: Path, query: str, sql: str) -> Path:
    """Writes a merchant mapping that overrides ``query`` with ``sql``."""
    path = folder / "mapping.toml"
    path.write_text(f"[{query}]\nsql = '''\n{sql}\n'''\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE orders SET total_minor = 0 WHERE order_no = :order_number",
        "DELETE FROM orders WHERE order_no = :order_number",
        HEADER.strip() + "; DROP TABLE orders",
        "WITH gone AS (DELETE FROM orders RETURNING *) SELECT * FROM gone WHERE order_no = :order_number",
        "SELECT * INTO copy_of_orders FROM orders WHERE order_no = :order_number",
        "INSERT INTO orders SELECT * FROM orders WHERE order_no = :order_number",
        "CALL purge_orders(:order_number)",
    ],
)
def test_non_select_statements_are_refused(tmp_path: Path, sql: str) -> None:
    """Anything but one read-only SELECT is refused when the mapping loads, naming the file and the query."""
    path = mapping_file(tmp_path, "orders_header", sql)
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    assert str(path) in info.value.message and "[orders_header]" in info.value.message


def test_keywords_inside_literals_and_comments_are_allowed(tmp_path: Path) -> None:
    """A literal or comment that contains a write keyword does not trip the guard."""
    sql = HEADER + " AND o.channel <> 'DELETE' -- never UPDATE anything here"
    mapping = load_mapping(mapping_file(tmp_path, "orders_header", sql))
    assert "'DELETE'" in mapping.sql("orders_header")


def test_one_query_overridden_keeps_every_default(tmp_path: Path) -> None:
    """An override file naming one query replaces only that query; every other keeps the shipped SQL."""
    defaults = load_mapping()
    path = mapping_file(
        tmp_path,
        "orders_events",
        "SELECT e.at AS at, e.code AS code FROM order_events e "
        "JOIN orders o ON o.order_no = e.order_no "
        "WHERE o.order_no = :order_number AND o.customer_no = :customer_number ORDER BY e.seq",
    )
    merged = load_mapping(path)
    assert merged.queries["orders_events"].source == str(path)
    assert merged.sql("orders_events") != defaults.sql("orders_events")
    others = set(defaults.queries) - {"orders_events"}
    assert all(merged.sql(n) == defaults.sql(n) for n in others)


@pytest.mark.parametrize(
    ("query", "sql", "expected"),
    [
        ("orders_total", "SELECT 1 AS x", "is not a query the agent knows"),
        ("orders_header", HEADER + " AND o.channel = :channel", "uses parameters [':channel']"),
    ],
)
def test_unknown_queries_and_parameters_are_refused(tmp_path: Path, query: str, sql: str, expected: str) -> None:
    """A query name or a parameter the agent does not know is refused with what is allowed."""
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_mapping(mapping_file(tmp_path, query, sql))


def test_validation_names_missing_table_and_missing_column(erp: Path, tmp_path: Path) -> None:
    """Validation against the database reports a query that cannot run and one that lacks a result column."""
    path = tmp_path / "mapping.toml"
    path.write_text(
        "[orders_events]\nsql = 'SELECT e.at AS at, e.code AS code FROM auftragshistorie e "
        "WHERE e.belegnr = :order_number AND e.kdnr = :customer_number'\n"
        "[stock_variants]\nsql = 'SELECT v.sku AS sku, v.article_no AS article_number, v.colour AS colour, "
        "v.size AS size FROM article_variants v WHERE v.sku IN :skus'\n",
        encoding="utf-8",
    )
    db = SqlAlchemyDatabase(f"sqlite:///{erp}", load_mapping(path))
    try:
        problems = validate(db)
    finally:
        db.close()
    assert len(problems) == 2
    events, variants = sorted(problems)
    assert events.startswith(f"{path}: [orders_events] cannot be prepared") and "auftragshistorie" in events
    assert variants.startswith(f"{path}: [stock_variants] lacks result columns ['name']")


def write_config(folder: Path, erp: Path, mapping: Path | None) -> Path:
    """An agent configuration on ``erp`` with an optional mapping override."""
    line = f'mapping = "{mapping}"\n' if mapping else ""
    path = folder / "agent.toml"
    path.write_text(
        '[agent]\nid = "t"\ngateway = "127.0.0.1:9"\ninsecure = true\ntoken = "x"\ntenant = "demo"\n'
        'key = "57ea0dae8fa4ee3ebfc34523b42b3feb"\n'
        f'[database]\nurl = "sqlite:///{erp}"\n{line}'
        f'[orders]\narchive_root = "{erp.parent / "archive"}"\n',
        encoding="utf-8",
    )
    return path


def test_agent_refuses_to_start_with_a_broken_mapping(erp: Path, tmp_path: Path) -> None:
    """``onlineconnect-agent --config`` exits 2 and names file, query and the missing column on stderr."""
    sql = HEADER.replace("o.delivered_on AS delivered_on", "o.delivered_at AS delivered_on")
    mapping = mapping_file(tmp_path, "orders_header", sql)
    proc = subprocess.run(
        [str(AGENT), "--config", str(write_config(tmp_path, erp, mapping))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert str(mapping) in proc.stderr and "[orders_header]" in proc.stderr and "delivered_at" in proc.stderr


def test_agent_refuses_to_start_with_a_write_in_the_mapping(erp: Path, tmp_path: Path) -> None:
    """``onlineconnect-agent --config`` exits 2 when a mapped statement is not a SELECT."""
    mapping = mapping_file(tmp_path, "orders_header", "DELETE FROM orders WHERE order_no = :order_number")
    proc = subprocess.run(
        [str(AGENT), "--config", str(write_config(tmp_path, erp, mapping))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert str(mapping) in proc.stderr and "[orders_header] is not a SELECT statement" in proc.stderr
