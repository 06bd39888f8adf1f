"""ListOrders page tokens are sealed to the tenant and the customer: nobody else can use, forge or read them."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import grpc
import pytest
from test_erp_outage import agent_config

from onlineconnect.agent.app import open_handlers
from onlineconnect.agent.config import load_agent_config
from onlineconnect.agent.context import CallContext
from onlineconnect.agent.erp.db import Database
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.orders.testing import demo_database
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.errors import InvalidArgument
from onlineconnect.testing import SHOP_KEY, running_relay
from onlineconnect.v1 import orders_pb2 as pb
from onlineconnect.v1 import orders_pb2_grpc

KEY_A = bytes(range(16))
KEY_B = bytes(range(16, 32))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the module's demo ERP."""
    return tmp_path_factory.mktemp("erp")


@pytest.fixture(scope="module")
def db(folder: Path) -> Database:
    """The demo ERP, built once (the queries only read)."""
    return demo_database(folder)


def agent(db: Database, folder: Path, key: bytes) -> OrderQueries:
    """The order queries of an agent holding tenant key ``key``."""
    return OrderQueries(db, OrderSettings(archive_root=folder / "archive"), tenant_key=key)


def page(q: OrderQueries, *, tenant: str = "acme", customer: str = "4711", token: str = "") -> pb.ListOrdersResponse:
    """One page of two orders."""
    req = pb.ListOrdersRequest(customer_number=customer, page_size=2, page_token=token)
    return q.list_orders(req, CallContext.with_timeout(tenant, 10))


def body(token: str) -> dict[str, object]:
    """The decoded JSON of a token."""
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return decoded


def test_token_of_another_customer_is_refused_with_a_clear_message(db: Database, folder: Path) -> None:
    """Customer 4711's token presented for customer 4712 of the same tenant is INVALID_ARGUMENT naming page_token."""
    q = agent(db, folder, KEY_A)
    token = page(q).next_page_token
    with pytest.raises(InvalidArgument) as info:
        page(q, customer="4712", token=token)
    assert info.value.message == "page_token belongs to another customer or other filters; start again without it"


def test_token_of_another_tenant_is_refused_with_a_clear_message(db: Database, folder: Path) -> None:
    """A token issued by tenant A's agent is refused by tenant B's agent (another tenant key), same customer."""
    token = page(agent(db, folder, KEY_A), tenant="acme").next_page_token
    with pytest.raises(InvalidArgument) as info:
        page(agent(db, folder, KEY_B), tenant="beta", token=token)
    assert info.value.message == "page_token was altered or issued for another tenant; start again without it"


def test_token_is_bound_to_the_tenant_name_too(db: Database, folder: Path) -> None:
    """Even under the same key, a token issued for tenant A is refused for tenant B."""
    q = agent(db, folder, KEY_A)
    token = page(q, tenant="acme").next_page_token
    with pytest.raises(InvalidArgument, match="page_token"):
        page(q, tenant="beta", token=token)


def test_agents_of_one_tenant_accept_each_others_tokens(db: Database, folder: Path) -> None:
    """Page 2 can be served by another agent of the tenant: both derive the token key from the tenant key."""
    first = page(agent(db, folder, KEY_A))
    second = page(agent(db, folder, KEY_A), token=first.next_page_token)
    assert second.orders and second.orders[0].order_number != first.orders[-1].order_number


def test_token_forged_without_the_key_is_refused(db: Database, folder: Path) -> None:
    """A token rebuilt with an edited cursor and recomputed unkeyed digests is refused."""
    q = agent(db, folder, KEY_A)
    fields = body(page(q).next_page_token)
    fields["n"] = "000000001"
    fields["c"] = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")
    with pytest.raises(InvalidArgument, match="page_token was altered"):
        page(q, token=forged)


def test_token_reveals_neither_customer_nor_tenant(db: Database, folder: Path) -> None:
    """The binding inside a token is keyed: no customer number, no tenant, nothing a dictionary could reverse."""
    token_a = page(agent(db, folder, KEY_A)).next_page_token
    token_b = page(agent(db, folder, KEY_B)).next_page_token
    text = json.dumps(body(token_a))
    assert "4711" not in text and "acme" not in text
    assert body(token_a)["b"] != body(token_b)["b"]  # same customer and filters, different tenant keys


def test_agent_seals_tokens_with_its_configured_tenant_key(db: Database, folder: Path, tmp_path: Path) -> None:
    """The running agent (``open_handlers`` from agent.toml) seals tokens with the key from ``[agent] key``."""
    config = load_agent_config(agent_config(tmp_path, f"sqlite:///{folder / 'erp.db'}", folder / "archive"))
    erp_db, handlers = open_handlers(config)
    try:
        token = page(handlers.orders, tenant=config.tenant).next_page_token
    finally:
        handlers.close()
        erp_db.close()
    assert page(agent(db, folder, config.key), tenant=config.tenant, token=token).orders


async def test_foreign_token_through_the_relay_is_invalid_argument(db: Database, folder: Path) -> None:
    """Through gateway and tunnel, another customer's or another tenant's token is INVALID_ARGUMENT for the shop."""
    key_other = os.urandom(16)
    async with running_relay(None, start_agent=False, extra_tenants={"other": key_other}) as relay:
        settings = OrderSettings(archive_root=folder / "archive")
        own = Handlers(OrderQueries(db, settings, tenant_key=relay.key), StockQueries(db, StockSettings()))
        other = Handlers(OrderQueries(db, settings, tenant_key=key_other), StockQueries(db, StockSettings()))
        try:
            await relay.start_agent(handlers=own)
            await relay.start_agent(handlers=other, tenant="other", key=key_other)
            stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
            req = pb.ListOrdersRequest(customer_number="4711", page_size=2)
            token = (await stub.ListOrders(req, metadata=relay.shop_auth, timeout=10)).next_page_token
            assert token
            follow = pb.ListOrdersRequest(customer_number="4711", page_size=2, page_token=token)
            assert (await stub.ListOrders(follow, metadata=relay.shop_auth, timeout=10)).orders

            foreign_customer = pb.ListOrdersRequest(customer_number="4712", page_size=2, page_token=token)
            other_auth = (("authorization", f"Bearer {SHOP_KEY}-other"),)
            for request, auth, words in (
                (foreign_customer, relay.shop_auth, "another customer"),
                (follow, other_auth, "another tenant"),
            ):
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.ListOrders(request, metadata=auth, timeout=10)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "page_token" in (info.value.details() or "") and words in (info.value.details() or "")
        finally:
            own.close()
            other.close()
