"""The worked example of docs/erp-databases.md (a foreign schema with DATE, NUMERIC euros, INTEGER customer
numbers, J/N flags and NUMERIC quantities) runs on PostgreSQL exactly as printed and meets the value contract."""

from __future__ import annotations

import re
from pathlib import Path

from test_erp_backends import PG_SERVER, port_open
from test_erp_readonly import server_admin

from onlineconnect.agent.erp.contract import check_rows, sample_findings
from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo.export import scratch_database
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.orders.values import flag, money, qty
from onlineconnect.testing import need_service

DOC = Path(__file__).parent.parent / "docs" / "erp-databases.md"


def block(marker: str, lang: str) -> str:
    """The fenced ``lang`` block right after ``<!-- worked-example: marker -->`` in the document."""
    m = re.search(rf"<!-- worked-example: {marker} -->\n```{lang}\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.S)
    assert m, f"no worked-example {marker} block in {DOC}"
    return m.group(1)


def test_worked_example_meets_the_contract(tmp_path: Path) -> None:
    """The documented schema and mapping answer order A-1001 of customer 4711 with cents, ISO date and flags."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text(block("mapping", "toml"), encoding="utf-8")
    with scratch_database(PG_SERVER) as url:
        for statement in block("schema", "sql").split(";"):
            if statement.strip():
                server_admin(url)(statement)
        db = SqlAlchemyDatabase(url, load_mapping(mapping_file))
        try:
            params = {"customer_number": "4711", "order_number": "A-1001"}
            header = db.fetch("orders_header", params)
            lines = db.fetch("orders_lines", params)
            check_rows("orders_header", header)
            findings, notes = sample_findings(db, {n: db.mapping.sql(n) for n in ("orders_header", "orders_lines")})
        finally:
            db.close()
    assert findings == [] and notes == []
    assert header[0]["order_date"].isoformat() == "2014-07-13"
    assert money(header[0]["total_minor"]).decimal == "114.45"
    assert not flag(header[0]["on_hold"]) and not flag(header[0]["cancelled"])
    assert [qty(r["qty_ordered"]) for r in lines] == [2, 1, 1]
    assert sum(r["line_total_minor"] for r in lines) == header[0]["total_minor"]
