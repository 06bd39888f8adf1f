"""The OpenAPI document: valid OpenAPI 3.1, and what a live gateway and agent on the demo ERP actually answer."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.calls import BY_METHOD, CALLS
from onlineconnect.testing.processes import SHOP_KEY, Proc, free_port, start, write_agent_config, write_gateway_config

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = json.loads((ROOT / "onlineconnect" / "v1" / "openapi.json").read_text())
AUTH = {"authorization": f"Bearer {SHOP_KEY}"}


@dataclass
class Live:
    """Gateway and agent processes on a demo ERP."""

    base_url: str
    orders: dict[str, str]  # order number → customer number, from the ERP itself
    documents: dict[str, str]  # document id → order number
    procs: list[Proc]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`onlineconnect-gateway` with [http] and `onlineconnect-agent` on a fresh demo ERP, as a user starts them."""
    folder = tmp_path_factory.mktemp("live")
    create_demo_erp(folder / "erp.db", folder / "archive")
    grpc_port, http_port = free_port(), free_port()
    config = write_gateway_config(folder, grpc_port)
    config.write_text(config.read_text() + f'\n[http]\nlisten = "127.0.0.1:{http_port}"\ninsecure = true\n')
    write_agent_config(folder, grpc_port, folder)
    procs = [
        start("onlineconnect-gateway", ["--config", str(config)], folder),
        start("onlineconnect-agent", ["--config", str(folder / "agent.toml")], folder),
    ]
    with sqlite3.connect(folder / "erp.db") as db:
        orders = dict(db.execute("SELECT order_no, customer_no FROM orders").fetchall())
        documents = dict(db.execute("SELECT document_id, order_no FROM documents").fetchall())
    live = Live(f"http://127.0.0.1:{http_port}", orders, documents, procs)
    try:
        wait_answering(live)
        yield live
    finally:
        for p in procs:
            p.stop()


def wait_answering(live: Live, timeout: float = 30) -> None:
    """Waits until the HTTP listener answers a stock call from the agent (not 503, not refused)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if call(live, "/onlineconnect.v1.StockService/GetStoreStock", {"sku": "851888-XS-KI"})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{live.base_url} did not answer from the agent within {timeout} s")


def test_document_is_valid_openapi_3_1() -> None:
    """The generated document passes openapi-spec-validator as OpenAPI 3.1."""
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


def test_document_covers_every_unary_rpc_get_for_read_only_ones_and_the_download() -> None:
    """Every unary RPC has POST, the NO_SIDE_EFFECTS ones also GET (not LookupGuestOrder, whose every attempt counts
    against its guessing limits); the PDF download and the comments are there."""
    paths = DOCUMENT["paths"]
    for call in CALLS:
        if call.streaming:
            assert call.path not in paths
        elif call.method == "LookupGuestOrder":
            assert set(paths[call.path]) == {"post"}
        else:
            assert set(paths[call.path]) == {"post", "get"}
    assert "/v1/customers/{customer_number}/orders/{order_number}/invoices/{document_id}.pdf" in paths
    order_number = DOCUMENT["components"]["schemas"]["OrderSummary"]["properties"]["order_number"]
    assert order_number["description"] == 'The ERP\'s order number (Belegnummer), e.g. "091782005".'


def customer_and_orders(case: Any, body: Any) -> tuple[str | None, list[str]]:
    """The customer a call asked for and the order numbers its answer names."""
    request = case.body if isinstance(case.body, dict) else None
    if request is None and case.query and "message" in case.query:
        try:
            request = json.loads(case.query["message"])
        except (TypeError, ValueError):
            request = None
    customer = request.get("customer_number") if isinstance(request, dict) else None
    if case.path_parameters:
        customer = case.path_parameters.get("customer_number")
    found = [o.get("order_number") for o in body.get("orders", [])] if isinstance(body, dict) else []
    if isinstance(body, dict) and "order" in body:
        found.append(body["order"].get("summary", {}).get("order_number"))
    if isinstance(request, dict) and request.get("order_number") and isinstance(body, dict) and "items" in body:
        found.append(request["order_number"])
    return customer, [o for o in found if o]


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 25  # per operation: about 300 calls, some seconds in all


def test_live_answers_conform_to_the_document(live: Live) -> None:
    """Generated calls of every operation get no 5xx, only documented statuses, headers and bodies, and only
    the asked customer's orders."""
    api = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    labels = {op.label for op in operations}
    assert "GET /v1/customers/{customer_number}/orders/{order_number}/invoices/{document_id}.pdf" in labels
    # LookupGuestOrder is POST only: every attempt counts against its guessing limits.
    methods = {c.path: ("POST",) if c.method == "LookupGuestOrder" else ("GET", "POST") for c in CALLS}
    assert all(f"{m} {c.path}" in labels for c in CALLS if not c.streaming for m in methods[c.path]), labels
    assert f"GET {BY_METHOD['LookupGuestOrder'].path}" not in labels

    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        @given(case=operation.as_strategy())
        def conforms(case: Any) -> None:
            case.headers = {**(case.headers or {}), **AUTH, "connect-timeout-ms": "10000"}
            response = case.call(base_url=live.base_url)
            case.validate_response(response, checks=CHECKS)
            guest = case.path.endswith("/LookupGuestOrder")  # no customer number: order number and postcode
            if response.status_code == 200 and not guest and "json" in response.headers.get("content-type", ""):
                customer, orders = customer_and_orders(case, response.json())
                assert all(live.orders.get(o) == customer for o in orders), (customer, orders)

        conforms()


def call(live: Live, path: str, body: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One call to the live gateway: HTTP status and body."""
    data = None if body is None else json.dumps(body).encode()
    headers = {**AUTH, "content-type": "application/json"}
    request = urllib.request.Request(live.base_url + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_no_order_or_invoice_of_another_customer(live: Live) -> None:
    """Every demo order asked for by every demo customer: the owner gets it, anyone else the missing-order 404."""
    customers = sorted(set(live.orders.values()))
    _, missing = call(
        live, "/onlineconnect.v1.OrderService/GetOrder", {"customer_number": customers[0], "order_number": "0"}
    )
    for order, owner in sorted(live.orders.items()):
        for customer in customers:
            status, body = call(
                live, "/onlineconnect.v1.OrderService/GetOrder", {"customer_number": customer, "order_number": order}
            )
            if customer == owner:
                assert status == 200 and json.loads(body)["order"]["summary"]["order_number"] == order
            else:
                assert (status, body) == (404, missing)
    for document, order in sorted(live.documents.items()):
        for customer in customers:
            quoted = "/".join(urllib.parse.quote(p, safe="") for p in (customer, order, document))
            c, o, d = quoted.split("/")
            status, body = call(live, f"/v1/customers/{c}/orders/{o}/invoices/{d}.pdf")
            if customer == live.orders[order]:
                assert status in (200, 404)  # 404: an archived PDF the demo leaves out on purpose
                assert status == 404 or body.startswith(b"%PDF")
            else:
                assert status == 404
