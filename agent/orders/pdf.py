"""A minimal PDF 1.4 writer for the demo ERP's archived invoices: one A4 page of Helvetica text lines.

The demo needs real, valid PDFs in its invoice archive (so shops can test the download end to end) without adding
a PDF library. The file has the five objects any reader needs (catalog, page tree, page, font, content stream)
and a cross-reference table with exact byte offsets, so strict readers such as ``pdftotext`` open it without
repair. Text is encoded as WinAnsi (cp1252) so German umlauts and "€" print correctly.
"""

from __future__ import annotations

from collections.abc import Sequence

_PAGE_W, _PAGE_H = 595, 842  # A4 in points
_LEFT, _TOP, _LEADING = 56, 780, 16


def _escape(line: str) -> bytes:
    """Encodes one text line as a PDF literal string body (WinAnsi, with \\, ( and ) escaped)."""
    raw = line.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def render_text_pdf(lines: Sequence[str], *, title: str = "") -> bytes:
    """Returns the bytes of a one-page PDF showing ``lines`` top to bottom.

    Args:
        lines: Text lines; the first is printed larger as a heading. Lines beyond the page are dropped.
        title: Document title for the PDF's info dictionary.
    """
    ops = [b"BT", f"/F1 11 Tf {_LEFT} {_TOP} Td {_LEADING} TL".encode("ascii")]
    for i, line in enumerate(lines[: (_TOP - 40) // _LEADING]):
        if i == 0:
            ops.append(b"/F1 16 Tf (" + _escape(line) + b") Tj /F1 11 Tf T* T*")
        else:
            ops.append(b"(" + _escape(line) + b") Tj T*")
    ops.append(b"ET")
    content = b"\n".join(ops) + b"\n"

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_PAGE_W} {_PAGE_H}] ".encode("ascii")
        + b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(content)} >>\nstream\n".encode("ascii") + content + b"endstream",
        b"<< /Title (" + _escape(title) + b") /Producer (Online Connect demo ERP) >>",
    ]
    # The binary comment line marks the file as binary for transfer tools, as the PDF spec recommends.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode("ascii")
    out += b"0000000000 65535 f \n"  # each entry is exactly 20 bytes, newline included
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n".encode("ascii")
    out += f"startxref\n{xref_at}\n%%EOF".encode("ascii")
    return bytes(out)
