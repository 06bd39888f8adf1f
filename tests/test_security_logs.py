"""Logs carry ids, never secrets: the whole run's log events are scanned (tests/conftest.py)."""

from __future__ import annotations

import structlog
from support.secrets import find_secrets

from onlineconnect.testing import running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc


def test_the_scan_finds_a_planted_secret() -> None:
    """The scanner flags a shop key, an agent token, a tenant key and PDF bytes, and passes ordinary lines."""
    assert find_secrets("event=x key='test-shop-key'") == ["test-shop-key"]
    assert find_secrets("data=b'%PDF-1.4'") == ["%PDF-"]
    assert find_secrets("tunnel.opened tenant=demo agent=agent-0 session=ab12") == []


async def test_events_of_the_run_are_recorded_and_carry_no_secret() -> None:
    """Log events of a relay with failed logins and PDF downloads are recorded and hold no key, token or PDF."""
    recorder = next(p for p in structlog.get_config()["processors"] if type(p).__name__ == "LogRecorder")
    before = len(recorder.lines)
    async with running_relay(FakeHandlers(pdf_size=1000)) as relay:
        stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
        try:
            await stub.GetOrder(orders_pb2.GetOrderRequest(), metadata=(("authorization", "Bearer demo-shop-key"),))
        except Exception:
            pass
        async for _ in stub.GetInvoicePdf(
            orders_pb2.GetInvoicePdfRequest(customer_number="4711", document_id="INV-1"), metadata=relay.shop_auth
        ):
            pass
    structlog.get_logger("test").info("scan.marker")
    recorded = recorder.lines[before:]
    assert any("scan.marker" in line for line in recorded)
    assert [line for line in recorded if find_secrets(line)] == []
