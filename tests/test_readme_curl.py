"""Every curl line of README.md (and every one `onlineconnect demo` prints) answers 200 with the right content."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onlineconnect.testing import need_service

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_PORTS = (50051, 8080, 8081)  # gateway gRPC, storefront, gateway HTTP


def field(obj: dict[str, Any], name: str) -> Any:
    """A proto3 JSON field by its proto name or its lowerCamelCase name."""
    if name in obj:
        return obj[name]
    camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)
    return obj.get(camel)


def readme_commands() -> list[str]:
    """The shell commands in README.md's ``sh`` blocks that run curl, continuation lines joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if re.search(r"(^|\|\s*)curl\s", line.strip()):
                commands.append(line.strip())
    return commands


@dataclass
class Demo:
    """The running ``onlineconnect demo`` and its console output."""

    log: Path
    folder: Path


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`onlineconnect demo` on its fixed ports, as `make demo` runs it, until the module's tests are done."""
    need_service(shutil.which("curl") is not None, "curl is not installed")
    busy = [p for p in DEMO_PORTS if not _port_free(p)]
    need_service(not busy, f"ports {busy} are busy (is a demo running?)")
    folder = tmp_path_factory.mktemp("readme-curl")
    log = folder / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "onlineconnect"), "demo", "--config-dir", str(ROOT / "deploy" / "demo")],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "Press Ctrl-C to stop." not in log.read_text(errors="replace") or _port_free(8081):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "demo did not come up in 90 s"
            time.sleep(0.2)
        yield Demo(log, folder)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()


def frames(body: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The Connect stream's enveloped JSON messages: (flags, message)."""
    out = []
    while body:
        flags, length = struct.unpack(">BI", body[:5])
        out.append((flags, json.loads(body[5 : 5 + length])))
        body = body[5 + length :]
    return out


def check_list_orders(body: bytes, _: Path) -> None:
    """The demo customer's history, with the sheet's order."""
    orders = field(json.loads(body), "orders")
    assert "091782005" in [field(o, "order_number") for o in orders]


def check_get_order(body: bytes, _: Path) -> None:
    """The sheet's order with its lines (in the first demo Mandant, or its copy in the second)."""
    order = field(json.loads(body), "order")
    summary = field(order, "summary")
    assert field(summary, "order_number") in {"091782005", "291782005"}
    assert field(summary, "shop_order_number") == "140511214402704"
    assert "Ochsenziemer XL" in [field(line, "description") for line in field(order, "lines")]


def check_invoice_stream(body: bytes, _: Path) -> None:
    """Enveloped chunks of the PDF, its SHA-256 in the first, a clean end of stream last."""
    messages = frames(body)
    *chunks, (end_flags, end) = messages
    assert end_flags == 2 and "error" not in end, end
    assert chunks and all(flags == 0 for flags, _ in chunks)
    pdf = b"".join(base64.b64decode(field(m, "data")) for _, m in chunks)
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == field(chunks[0][1], "sha256")


def check_reorder(body: bytes, _: Path) -> None:
    """The order's reorderable articles."""
    items = field(json.loads(body), "items")
    assert "6392" in [field(i, "article_number") for i in items]


def check_guest_lookup(body: bytes, _: Path) -> None:
    """The sheet's order in the guest view: status, lines and parcel, no amounts, no documents."""
    order = field(json.loads(body), "order")
    summary = field(order, "summary")
    assert field(summary, "order_number") in {"091782005", "291782005"}
    assert field(summary, "status") == "ORDER_STATUS_DELIVERED"
    assert "Ochsenziemer XL" in [field(line, "description") for line in field(order, "lines")]
    assert field(field(order, "shipments")[0], "parcel_number") == "056326500434"
    assert field(summary, "total") is None and field(order, "documents") is None


def check_store_stock(body: bytes, _: Path) -> None:
    """The polo shirt's per-store stock (nearest first when a postcode was given)."""
    answer = json.loads(body)
    assert field(field(answer, "article"), "name") == "STEEDS Poloshirt Lilli"
    names = [field(field(s, "store"), "name") for s in field(answer, "stores")]
    assert "MEGA STORE Hockenheim" in names


def check_store_stock_near(body: bytes, path: Path) -> None:
    """As check_store_stock, with MEGA STORE Hockenheim first."""
    check_store_stock(body, path)
    first = field(json.loads(body), "stores")[0]
    assert field(field(first, "store"), "name") == "MEGA STORE Hockenheim"


def check_batch(body: bytes, _: Path) -> None:
    """One entry per SKU, both known."""
    entries = field(json.loads(body), "entries")
    assert [field(e, "sku") for e in entries] == ["851888-XS-KI", "851888-M-MA"]
    assert all(not field(e, "code") for e in entries)


def check_pdf_download(_: bytes, folder: Path) -> None:
    """The PDF saved under the name from Content-Disposition."""
    saved = folder / "Rechnung-RE-2014-081511.pdf"
    assert saved.read_bytes().startswith(b"%PDF-")


def check_openapi(body: bytes, _: Path) -> None:
    """An OpenAPI document naming every unary RPC's route and the PDF route (which stands in for the stream)."""
    doc = json.loads(body)
    assert str(doc["openapi"]).startswith("3.")
    paths = set(doc["paths"])
    for rpc in (
        "OrderService/ListOrders",
        "OrderService/GetOrder",
        "OrderService/GetReorderItems",
        "StockService/GetStoreStock",
        "StockService/BatchGetStoreStock",
    ):
        assert f"/onlineconnect.v1.{rpc}" in paths
    assert any(p.startswith("/v1/customers/") and p.endswith(".pdf") for p in paths), paths


Check = Callable[[bytes, Path], None]


def checker(command: str) -> tuple[str, Check]:
    """What a command calls, and how to check its answer."""
    if "/invoices/" in command:
        return "pdf download", check_pdf_download
    if "/openapi.json" in command:
        return "openapi", check_openapi
    if "StockService/GetStoreStock" in command and " -G " in command:
        return "GetStoreStock (GET)", check_store_stock
    for rpc, check in (
        ("ListOrders", check_list_orders),
        ("GetOrder", check_get_order),
        ("GetInvoicePdf", check_invoice_stream),
        ("GetReorderItems", check_reorder),
        ("LookupGuestOrder", check_guest_lookup),
        ("BatchGetStoreStock", check_batch),
        ("GetStoreStock", check_store_stock_near),
    ):
        if f"/{rpc}" in command:
            return rpc, check
    raise AssertionError(f"no check for {command!r}")


def run(command: str, folder: Path) -> bytes:
    """Runs a README command with bash in ``folder``; asserts curl exits 0 and the HTTP status is 200."""
    # curl reports the status on stderr (-w '%{stderr}…' may follow the URL), the command stays as written.
    out = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} -w '%{{stderr}}HTTP %{{http_code}}'"],
        cwd=folder,
        capture_output=True,
        timeout=60,
    )
    assert out.returncode == 0, (command, out.stderr.decode(errors="replace"))
    assert out.stderr.decode().endswith("HTTP 200"), (command, out.stderr.decode(errors="replace"), out.stdout[:500])
    return out.stdout


def test_readme_has_a_curl_line_for_every_rpc_and_the_pdf_download() -> None:
    """README.md shows curl for all seven RPCs, the GET form, the PDF download and the OpenAPI document."""
    covered = {checker(c)[0] for c in readme_commands()}
    assert covered == {
        "ListOrders",
        "GetOrder",
        "GetInvoicePdf",
        "GetReorderItems",
        "LookupGuestOrder",
        "GetStoreStock",
        "GetStoreStock (GET)",
        "BatchGetStoreStock",
        "pdf download",
        "openapi",
    }


def test_every_readme_curl_line_answers_from_the_demo(demo: Demo, tmp_path: Path) -> None:
    """Each curl line of README.md, run as written against `onlineconnect demo`, answers 200 with sensible content."""
    commands = readme_commands()
    assert len(commands) >= 10
    for command in commands:
        folder = tmp_path / f"cmd{commands.index(command)}"
        folder.mkdir()
        _, check = checker(command)
        check(run(command, folder), folder)


def test_curl_lines_printed_by_the_demo_answer(demo: Demo, tmp_path: Path) -> None:
    """The curl lines `onlineconnect demo` prints after start-up work as printed."""
    printed = [
        line.strip()
        for line in demo.log.read_text(errors="replace").splitlines()
        if re.match(r"\s*(curl|printf)\s", line) and "curl" in line
    ]
    assert {checker(c)[0] for c in printed} >= {"GetOrder", "pdf download"}, printed
    for i, command in enumerate(printed):
        folder = tmp_path / f"printed{i}"
        folder.mkdir()
        _, check = checker(command)
        check(run(command, folder), folder)
