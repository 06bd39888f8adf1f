"""Invoice PDFs: the demo archive's files are valid PDFs; open_invoice checks ownership, paths and hashes."""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import structlog

from onlineconnect.agent.orders import OrderQueries, OrderSettings, Visibility
from onlineconnect.agent.orders.invoices import InvoiceFile, archive_relative_path, hash_file
from onlineconnect.agent.orders.pdf import render_text_pdf
from onlineconnect.agent.orders.testing import context, demo_database
from onlineconnect.errors import InvalidArgument, NotFound
from onlineconnect.v1 import orders_pb2 as pb

SHEET = "091782005"
SHEET_DOC = "D-1000001"


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    """A fresh demo ERP per test, so a test may edit its documents table."""
    demo_database(tmp_path).close()
    return tmp_path


def queries(folder: Path, **vis: bool) -> OrderQueries:
    db = demo_database(folder, build=False)
    return OrderQueries(db, OrderSettings(archive_root=folder / "archive", visibility=Visibility(**vis)))


def open_doc(
    folder: Path, document_id: str = SHEET_DOC, customer: str = "4711", order: str = SHEET, **vis: bool
) -> InvoiceFile:
    req = pb.GetInvoicePdfRequest(customer_number=customer, order_number=order, document_id=document_id)
    return queries(folder, **vis).open_invoice(req, context())


def set_pdf_path(folder: Path, document_id: str, value: str) -> None:
    """Edits the ERP as its staff could (the agent itself opens the database read-only)."""
    with sqlite3.connect(folder / "erp.db") as conn:
        conn.execute("UPDATE documents SET pdf_path = ? WHERE document_id = ?", (value, document_id))


def check_pdf(data: bytes) -> None:
    """Asserts the structure a strict reader relies on: header, trailer, and exact xref offsets."""
    assert data.startswith(b"%PDF-1.4") and data.endswith(b"%%EOF")
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF$", data).group(1))  # type: ignore[union-attr]
    assert data[start:].startswith(b"xref\n0 ")
    header = data[start:].split(b"\n")[1]
    count = int(header.split()[1])
    table = data[start + len(b"xref\n") + len(header) + 1 :]
    for n in range(1, count):
        entry = table[n * 20 : (n + 1) * 20]
        assert len(entry) == 20 and entry.endswith(b" n \n"), entry
        assert data[int(entry[:10]) :].startswith(f"{n} 0 obj".encode())
    length = int(re.search(rb"/Length (\d+) >>\nstream\n", data).group(1))  # type: ignore[union-attr]
    body_at = data.index(b"stream\n") + len(b"stream\n")
    assert data[body_at + length :].startswith(b"endstream")


def test_render_text_pdf_is_well_formed() -> None:
    """The hand-written PDF has correct xref offsets, stream length and WinAnsi umlauts."""
    data = render_text_pdf(["Rechnung RE-1", "Kleine Belohnung für Ihren Hund (2x)", "114,45 €"], title="T")
    check_pdf(data)
    assert "für".encode("cp1252") in data and b"\\(2x\\)" in data


def test_demo_archive_holds_valid_pdfs(erp: Path) -> None:
    """Every archived demo document is a valid PDF whose path the documents table names."""
    with sqlite3.connect(erp / "erp.db") as conn:
        paths = [r[0] for r in conn.execute("SELECT pdf_path FROM documents")]
    assert len(paths) >= 5
    for rel in paths:
        assert not Path(rel).is_absolute()
        check_pdf((erp / "archive" / rel).read_bytes())


def test_open_sheet_invoice(erp: Path) -> None:
    """The sheet's invoice opens with the right size, SHA-256, name and content type."""
    found = open_doc(erp)
    data = found.path.read_bytes()
    assert found.size == len(data) and found.sha256 == hashlib.sha256(data).hexdigest()
    assert found.file_name == "Rechnung-RE-2014-081511.pdf" and found.content_type == "application/pdf"
    assert b"Belegnummer: 091782005" in data


def test_credit_note_name(erp: Path) -> None:
    """A credit note downloads as "Gutschrift-….pdf"."""
    found = open_doc(erp, "D-1000007", "4713", "091770010")
    assert found.file_name.startswith("Gutschrift-")


def test_foreign_document_is_not_found(erp: Path) -> None:
    """Another customer's order, another order's document and a missing one all answer the same NotFound."""
    messages = []
    for customer, order, doc in (("4712", SHEET, SHEET_DOC), ("4711", "091790117", SHEET_DOC), ("4711", SHEET, "D-0")):
        with pytest.raises(NotFound) as err:
            open_doc(erp, doc, customer, order)
        messages.append(err.value.message)
    assert set(messages) == {"document not found"}


def test_hidden_invoices_are_not_found(erp: Path) -> None:
    """With invoices hidden the PDF is NotFound too."""
    with pytest.raises(NotFound):
        open_doc(erp, show_invoices=False)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("../erp.db", "parent_reference"),
        ("2014/../../erp.db", "parent_reference"),
        ("..\\erp.db", "parent_reference"),
        ("/etc/passwd", "absolute"),
        ("C:\\Windows\\win.ini", "absolute"),
    ],
)
def test_escaping_paths_are_refused(erp: Path, value: str, reason: str) -> None:
    """Paths leaving the archive are NotFound for the shop and logged as invoice.path_refused with the reason."""
    set_pdf_path(erp, SHEET_DOC, value)
    with structlog.testing.capture_logs() as logs, pytest.raises(NotFound, match="document not found"):
        open_doc(erp)
    refused = [e for e in logs if e["event"] == "invoice.path_refused"]
    assert refused == [
        {"event": "invoice.path_refused", "document_id": SHEET_DOC, "reason": reason, "log_level": "warning"}
    ]


def test_symlink_out_of_archive_is_refused(erp: Path) -> None:
    """A symlink inside the archive that points outside it is refused."""
    outside = erp / "secret.pdf"
    outside.write_bytes(b"%PDF-1.4 secret")
    (erp / "archive" / "link.pdf").symlink_to(outside)
    set_pdf_path(erp, SHEET_DOC, "link.pdf")
    with structlog.testing.capture_logs() as logs, pytest.raises(NotFound):
        open_doc(erp)
    assert [e["reason"] for e in logs if e["event"] == "invoice.path_refused"] == ["outside_root"]


def test_missing_file_is_not_found(erp: Path) -> None:
    """A document whose file is gone from the archive is NotFound."""
    set_pdf_path(erp, SHEET_DOC, "2014/07/gone.pdf")
    with pytest.raises(NotFound):
        open_doc(erp)


def test_windows_separators_are_accepted(erp: Path) -> None:
    """An ERP on Windows may store backslashes; they resolve inside the archive."""
    set_pdf_path(erp, SHEET_DOC, "2014\\07\\RE-2014-081511.pdf")
    assert open_doc(erp).size > 0


def test_large_file_hashes_in_chunks(tmp_path: Path) -> None:
    """A 20 MB file hashes correctly (read in bounded chunks)."""
    big = tmp_path / "big.pdf"
    block = bytes(range(256)) * 4096
    with big.open("wb") as f:
        for _ in range(20):
            f.write(block)
    size, sha = hash_file(big)
    assert size == 20 * len(block) == 20 * 1024 * 1024
    assert sha == hashlib.sha256(block * 20).hexdigest()


def test_large_archived_invoice_opens(erp: Path) -> None:
    """A 20 MB archived document opens with the right size."""
    shutil.copy(erp / "archive" / "2014/07/RE-2014-081511.pdf", erp / "archive" / "big.pdf")
    with (erp / "archive" / "big.pdf").open("ab") as f:
        f.write(b"\0" * (20 * 1024 * 1024))
    set_pdf_path(erp, SHEET_DOC, "big.pdf")
    assert open_doc(erp).size > 20 * 1024 * 1024


def test_relative_path_check() -> None:
    """The lexical check accepts archive-relative paths and names why it refuses others."""
    assert archive_relative_path("2014/07/a.pdf")[0] is not None
    assert archive_relative_path("")[1] == "no_pdf"
    assert archive_relative_path("a\x00.pdf")[1] == "control_characters"


@pytest.mark.parametrize(("doc", "name"), [("", "document_id"), ("x" * 65, "document_id")])
def test_bad_document_id_is_invalid(erp: Path, doc: str, name: str) -> None:
    """A missing or overlong document id is refused naming the field."""
    with pytest.raises(InvalidArgument, match=name):
        open_doc(erp, doc)
