"""Hostile shop requests through the real relay to the real handlers on the demo ERP: raw bytes, invalid UTF-8,
absurd sizes, SQL metacharacters and path tricks in every string field, and well-formed requests for other
customers' orders. Each gets a clear status; nothing crashes the gateway, the agent or the tunnel; and every OK
answer keeps the invariants of ``relay_invariants`` (orders belong to the asked customer, pages and store lists
within their bounds, stock only for asked SKUs). The same fuzz against an agent whose mapping lost the customer
filter reports violations, so these checks can fail."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onlineconnect.calls import CALLS, Call
from onlineconnect.testing import SHOP_KEY, running_relay
from onlineconnect.testing.invariants import (
    demo_handlers,
    mapping_without_customer_filter,
    plausible_request,
    violations,
)

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
# Statuses a hostile request may get. UNAVAILABLE would mean the tunnel broke, INTERNAL/UNKNOWN a crash.
CLEAR = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
HOSTILE = [
    "' OR '1'='1",
    "4711'; DROP TABLE orders; --",
    '" OR ""="',
    "%",
    "_",
    "4711%",
    "\\",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/shadow",
    "file:///etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "\x00",
    "4711\x00' OR 1=1",
    "\u202e\u0000\ufeff",
    "😀" * 50,
    "A" * 5000,
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "NaN",
    "-1",
    "99999999999999999999999999",
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


class ThreadRelay:
    """The relay running on its own event loop in a thread, so synchronous hypothesis tests can call it.

    Every OK answer is checked against the invariants; violations are kept in ``violations``.
    """

    def __init__(self, folder: Path, *, mapping: Path | None = None) -> None:
        self.handlers, self.truth = demo_handlers(folder, mapping=mapping)
        self.violations: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.ready: Future[Any] = Future()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.thread.start()
        self.relay = self.ready.result(timeout=30)
        self.channel = grpc.insecure_channel(self.relay.address)
        self.session = self.tunnel_session()

    async def _main(self) -> None:
        async with running_relay(self.handlers) as relay:
            self.ready.set_result(relay)
            while not self.stop.is_set():
                await asyncio.sleep(0.05)

    def tunnel_session(self) -> str:
        """The session id of the tenant's one tunnel."""
        tunnels = self.relay.gateway.registry.tunnels("demo")
        assert len(tunnels) == 1
        return str(tunnels[0].session_id)

    def call(self, call: Call, raw: bytes) -> grpc.StatusCode:
        """Sends ``raw`` as the request of ``call`` (identity serializers); returns the final status.

        An OK answer is checked against the invariants; what it breaks goes to ``violations``.
        """
        try:
            if call.streaming:
                answers = list(self.channel.unary_stream(call.path)(raw, metadata=AUTH, timeout=10))
            else:
                answers = [self.channel.unary_unary(call.path)(raw, metadata=AUTH, timeout=10)]
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
        self.violations += violations(call, raw, answers, self.truth)
        return grpc.StatusCode.OK

    def fuzz(self, cases: int, seed: int) -> list[str]:
        """Sends ``cases`` plausible requests (mostly for other customers' orders); returns the violations."""
        before = len(self.violations)
        rnd = random.Random(seed)
        for _ in range(cases):
            call, raw = plausible_request(rnd, self.truth)
            assert self.call(call, raw) in CLEAR
        return self.violations[before:]

    def close(self) -> None:
        """Stops the relay and its thread."""
        self.channel.close()
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)
        self.handlers.close()


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadRelay]:
    """One relay for the module; each test checks afterwards that its tunnel survived."""
    r = ThreadRelay(tmp_path_factory.mktemp("fuzz"))
    try:
        yield r
        assert r.tunnel_session() == r.session, "hostile input broke the tunnel"
        assert r.violations == [], r.violations[:5]
    finally:
        r.close()


@pytest.fixture
def relay_check(relay: ThreadRelay) -> Iterator[ThreadRelay]:
    """The module's relay; the test fails if an OK answer during it broke an invariant."""
    before = len(relay.violations)
    yield relay
    assert relay.violations[before:] == []


def string_fields(message: type[Message]) -> list[tuple[str, ...]]:
    """Paths of every string field (also inside nested messages and repeated strings) of a request type."""
    out: list[tuple[str, ...]] = []
    for f in message.DESCRIPTOR.fields:
        if f.type == FieldDescriptor.TYPE_STRING:
            out.append((f.name,))
        elif f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.name != message.DESCRIPTOR.name:
            out += [(f.name, *p) for p in string_fields(f.message_type._concrete_class)]
    return out


def with_value(call: Call, path: tuple[str, ...], value: str) -> bytes:
    """A plausible request of ``call`` with the string field at ``path`` set to ``value``."""
    msg = call.request_type()
    for name in ("customer_number", "order_number"):
        if name in msg.DESCRIPTOR.fields_by_name:
            setattr(msg, name, "4711" if name == "customer_number" else "091782005")
    target: Any = msg
    for name in path[:-1]:
        field = target.DESCRIPTOR.fields_by_name[name]
        target = target.add() if field.is_repeated else getattr(target, name)
    leaf = target.DESCRIPTOR.fields_by_name[path[-1]]
    if leaf.is_repeated:
        getattr(target, path[-1]).append(value)
    else:
        setattr(target, path[-1], value)
    return msg.SerializeToString()


@pytest.mark.parametrize("call", CALLS, ids=lambda c: c.method)
def test_hostile_strings_in_every_field_get_clear_statuses(relay_check: ThreadRelay, call: Call) -> None:
    """SQL metacharacters, path tricks, NULs, huge and odd Unicode strings in every string field: no crash."""
    for path in string_fields(call.request_type):
        for value in HOSTILE:
            code = relay_check.call(call, with_value(call, path, value))
            assert code in CLEAR, (call.method, path, value[:40], code)


@FUZZ
@given(st.sampled_from(CALLS), st.binary(max_size=2048))
def test_random_bytes_as_any_request_get_clear_statuses(relay_check: ThreadRelay, call: Call, raw: bytes) -> None:
    """Random bytes sent as any RPC's request are refused or answered, never crash anything."""
    assert relay_check.call(call, raw) in CLEAR


@FUZZ
@given(st.sampled_from(CALLS), st.binary(min_size=1, max_size=40))
def test_invalid_utf8_in_string_fields_is_invalid_argument(relay_check: ThreadRelay, call: Call, junk: bytes) -> None:
    """A string field holding bytes that are not UTF-8 is INVALID_ARGUMENT at the gateway."""
    try:
        junk.decode("utf-8")
    except UnicodeDecodeError:
        field = next(f for f in call.request_type.DESCRIPTOR.fields if f.type == FieldDescriptor.TYPE_STRING)
        raw = bytes([(field.number << 3) | 2, len(junk)]) + junk
        assert relay_check.call(call, raw) == grpc.StatusCode.INVALID_ARGUMENT


@FUZZ
@given(st.integers(-(2**31), 2**31 - 1))
def test_absurd_page_sizes_are_refused_or_bounded(relay_check: ThreadRelay, page_size: int) -> None:
    """Any page_size either gets INVALID_ARGUMENT or a page no larger than the configured maximum."""
    from onlineconnect.v1 import orders_pb2

    call = next(c for c in CALLS if c.method == "ListOrders")
    raw = orders_pb2.ListOrdersRequest(customer_number="4711", page_size=page_size).SerializeToString()
    assert relay_check.call(call, raw) in {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT}


def test_oversized_requests_are_refused(relay_check: ThreadRelay) -> None:
    """A request above the relay's 16 KiB limit is INVALID_ARGUMENT; above gRPC's message limit RESOURCE_EXHAUSTED."""
    call = next(c for c in CALLS if c.method == "GetOrder")
    big = bytes([(1 << 3) | 2]) + b"\x80\x80\x01" + b"9" * 16384
    assert relay_check.call(call, big) == grpc.StatusCode.INVALID_ARGUMENT
    assert relay_check.call(call, b"\x0a" + b"\x80\x80\x08" + b"9" * 131072) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_ok_answers_to_cross_customer_requests_keep_the_invariants(relay_check: ThreadRelay) -> None:
    """Requests for any customer and any order, document and SKU: every OK answer is the asked customer's own."""
    assert relay_check.fuzz(400, seed=13) == []


def test_the_fuzz_catches_a_mapping_without_the_customer_filter(tmp_path: Path) -> None:
    """Against an agent whose order queries lost the customer filter, the same fuzz reports foreign orders."""
    broken = ThreadRelay(tmp_path / "erp", mapping=mapping_without_customer_filter(tmp_path / "leak.toml"))
    try:
        found = broken.fuzz(200, seed=13)
    finally:
        broken.close()
    assert any("asked by customer" in v for v in found), found[:5]
    assert {v.split(":")[0] for v in found} >= {"ListOrders", "GetOrder", "GetReorderItems", "GetInvoicePdf"}
