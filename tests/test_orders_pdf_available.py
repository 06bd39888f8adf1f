"""``pdf_available`` in GetOrder is true exactly for the documents GetInvoicePdf will serve."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from onlineconnect.agent.orders import OrderQueries, OrderSettings, Visibility
from onlineconnect.agent.orders.testing import context, demo_database
from onlineconnect.errors import NotFound
from onlineconnect.v1 import orders_pb2 as pb

SHEET = "091782005"
SHEET_DOC = "D-1000001"


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    """A fresh demo ERP per test (tests edit its documents table and archive)."""
    demo_database(tmp_path).close()
    return tmp_path


def queries(folder: Path, **vis: bool) -> OrderQueries:
    """Order queries on the demo ERP in ``folder``."""
    return OrderQueries(
        demo_database(folder, build=False),
        OrderSettings(archive_root=folder / "archive", visibility=Visibility(**vis)),
    )


def set_pdf_path(folder: Path, value: str | None) -> None:
    """Edits the sheet invoice's archive path as the ERP's staff could."""
    with sqlite3.connect(folder / "erp.db") as conn:
        conn.execute("UPDATE documents SET pdf_path = ? WHERE document_id = ?", (value, SHEET_DOC))


def offered_and_served(q: OrderQueries, customer: str, order: str) -> list[tuple[str, bool, bool]]:
    """(document id, pdf_available, GetInvoicePdf serves it) for every document of one order."""
    resp = q.get_order(pb.GetOrderRequest(customer_number=customer, order_number=order), context())
    out = []
    for doc in resp.order.documents:
        req = pb.GetInvoicePdfRequest(customer_number=customer, order_number=order, document_id=doc.document_id)
        try:
            q.open_invoice(req, context())
            served = True
        except NotFound:
            served = False
        out.append((doc.document_id, doc.pdf_available, served))
    return out


def demo_orders(folder: Path) -> list[tuple[str, str]]:
    """(customer, order) of every demo order with documents."""
    with sqlite3.connect(folder / "erp.db") as conn:
        return list(
            conn.execute(
                "SELECT DISTINCT o.customer_no, o.order_no FROM orders o JOIN documents d ON d.order_no = o.order_no"
            )
        )


def test_every_demo_document_offered_is_served(erp: Path) -> None:
    """On the demo ERP each document's pdf_available equals whether GetInvoicePdf serves it."""
    q = queries(erp)
    rows = [r for customer, order in demo_orders(erp) for r in offered_and_served(q, customer, order)]
    assert rows and all(offered == served for _, offered, served in rows), rows
    assert any(offered for _, offered, _ in rows)


@pytest.mark.parametrize(
    "case", ["missing-file", "parent-reference", "absolute", "symlink-out", "directory", "empty", "null"]
)
def test_document_the_agent_refuses_is_not_offered(erp: Path, case: str) -> None:
    """A PDF path GetInvoicePdf refuses (missing, escaping, a directory, empty) gives pdf_available false."""
    if case == "missing-file":
        set_pdf_path(erp, "2014/07/gone.pdf")
    elif case == "parent-reference":
        (erp / "outside.pdf").write_bytes(b"%PDF-1.4 outside")
        set_pdf_path(erp, "../outside.pdf")
    elif case == "absolute":
        set_pdf_path(erp, str(erp / "archive" / "2014" / "07" / "RE-2014-081511.pdf"))
    elif case == "symlink-out":
        (erp / "secret.pdf").write_bytes(b"%PDF-1.4 secret")
        (erp / "archive" / "link.pdf").symlink_to(erp / "secret.pdf")
        set_pdf_path(erp, "link.pdf")
    elif case == "directory":
        set_pdf_path(erp, "2014")
    elif case == "empty":
        set_pdf_path(erp, "")
    else:
        set_pdf_path(erp, None)
    q = queries(erp)
    docs = {doc: (offered, served) for doc, offered, served in offered_and_served(q, "4711", SHEET)}
    assert docs[SHEET_DOC] == (False, False)
    order = q.get_order(pb.GetOrderRequest(customer_number="4711", order_number=SHEET), context()).order
    assert order.summary.has_invoice == any(d.pdf_available for d in order.documents)


def test_served_document_is_offered(erp: Path) -> None:
    """The sheet invoice, archived under a Windows-style path, is offered and served."""
    set_pdf_path(erp, "2014\\07\\RE-2014-081511.pdf")
    docs = {doc: (offered, served) for doc, offered, served in offered_and_served(queries(erp), "4711", SHEET)}
    assert docs[SHEET_DOC] == (True, True)
