"""Archived invoice PDFs: find the file the ERP names, refuse anything outside the archive, hash it.

The ERP stores each document's PDF path relative to the invoice archive (``orders.archive_root``). That path is
data from a database a merchant's staff can edit, so it is treated as untrusted: absolute paths, drive letters,
``..`` steps and symlinks that lead out of the archive are refused. The shop then gets the same NOT_FOUND as for a
missing document, and the agent's log gets a ``invoice.path_refused`` warning with the document id and the reason
(never the path itself, which may be anything).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import structlog

from onlineconnect.errors import NotFound
from onlineconnect.v1 import orders_pb2 as pb

from ..context import CallContext
from ..erp.db import Database
from . import specs
from .settings import OrderSettings
from .values import require_id, require_number, text

log = structlog.get_logger(__name__)

DOCUMENT_NOT_FOUND = "document not found"
_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class InvoiceFile:
    """An archived PDF, checked and hashed, ready to stream.

    Attributes:
        path: Absolute, resolved path inside the archive.
        file_name: Name to offer for download ("Rechnung-RE-2014-0815.pdf").
        size: Size in bytes when hashed.
        sha256: SHA-256 of the content, lowercase hex.
        content_type: MIME type.
    """

    path: Path
    file_name: str
    size: int
    sha256: str
    content_type: str = "application/pdf"


def archive_relative_path(raw: Any) -> tuple[PurePosixPath | None, str]:
    """Checks an ERP document path lexically; returns (relative path, "") or (None, reason).

    Windows-style separators are accepted because ERPs on Windows store them; the result always uses "/".
    """
    value = text(raw)
    if not value:
        return None, "no_pdf"
    if "\x00" in value or not value.isprintable():
        return None, "control_characters"
    value = value.replace("\\", "/")
    if value.startswith("/") or _DRIVE.match(value):
        return None, "absolute"
    rel = PurePosixPath(value)
    if any(part == ".." for part in rel.parts):
        return None, "parent_reference"
    return rel, ""


def resolve_in_archive(root: Path, raw: Any) -> tuple[Path | None, str]:
    """Resolves an ERP document path inside ``root``, following symlinks; returns (path, "") or (None, reason)."""
    rel, reason = archive_relative_path(raw)
    if rel is None:
        return None, reason
    base = root.resolve()
    try:
        candidate = (base / Path(*rel.parts)).resolve(strict=True)
    except (OSError, RuntimeError):  # missing file or a symlink loop
        return None, "missing"
    if not candidate.is_relative_to(base):
        return None, "outside_root"
    if not candidate.is_file():
        return None, "not_a_file"
    return candidate, ""


def servable(root: Path, raw: Any) -> bool:
    """True if GetInvoicePdf would serve the ERP document path ``raw``: the rule behind ``pdf_available``.

    The same check as :func:`open_invoice` applies to the file (inside the archive, following symlinks, present, a
    regular file), so the order detail never offers a download that then answers NOT_FOUND.
    """
    return resolve_in_archive(root, raw)[0] is not None


def hash_file(path: Path) -> tuple[int, str]:
    """Returns (size, sha256 hex) of a file, reading in 64 KiB chunks so memory stays bounded."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def download_name(doc_type: str, number: str) -> str:
    """A safe download name: "Rechnung-RE-2014-0815.pdf" / "Gutschrift-GS-….pdf"."""
    prefix = "Gutschrift" if doc_type == "credit_note" else "Rechnung"
    safe = _UNSAFE_NAME.sub("_", number).strip("._") or "Dokument"
    return f"{prefix}-{safe[:64]}.pdf"


def open_invoice(db: Database, settings: OrderSettings, req: pb.GetInvoicePdfRequest, ctx: CallContext) -> InvoiceFile:
    """Finds, checks and hashes the archived PDF of one document of one order of one customer.

    Args:
        db: The ERP database.
        settings: The order settings (archive root, visibility).
        req: The shop's request.
        ctx: Deadline of the call.

    Raises:
        InvalidArgument: a required field is missing or malformed (the message names it).
        NotFound: the document is missing, not the customer's, hidden, not archived or refused; always the same
            message.
    """
    params: Mapping[str, str] = {
        "customer_number": require_number(req.customer_number, "customer_number"),
        "order_number": require_number(req.order_number, "order_number"),
        "document_id": require_id(req.document_id, "document_id"),
    }
    if not settings.visibility.show_invoices:
        raise NotFound(DOCUMENT_NOT_FOUND)
    ctx.check()
    rows = db.fetch(specs.INVOICE, params, timeout=ctx.remaining())
    if not rows:
        raise NotFound(DOCUMENT_NOT_FOUND)
    row = rows[0]
    path, reason = resolve_in_archive(settings.archive_root, row.get("pdf_path"))
    if path is None:
        if reason in {"no_pdf", "missing", "not_a_file"}:
            log.warning("invoice.file_missing", document_id=req.document_id, reason=reason)
        else:
            log.warning("invoice.path_refused", document_id=req.document_id, reason=reason)
        raise NotFound(DOCUMENT_NOT_FOUND)
    ctx.check()
    size, sha = hash_file(path)
    return InvoiceFile(
        path=path,
        file_name=download_name(text(row.get("doc_type")).lower(), text(row.get("number"))),
        size=size,
        sha256=sha,
    )
