"""Request ids across gateway and agent logs, and the agent's status and metrics files, on real processes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.ops_stack import SHOP_KEY, Stack, demo_stack, read_events

from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Gateway and agent processes shared by the tests that leave them running."""
    with demo_stack(tmp_path_factory.mktemp("logs"), metrics=False, agent_log_level="debug") as s:
        yield s


def wait_for(check: object, timeout: float = 20.0) -> None:
    """Polls ``check()`` until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def agent_lines(path: Path, request_id: str) -> list[dict[str, object]]:
    """The agent's ``request.answered`` lines for ``request_id``."""
    return [e for e in read_events(path) if e.get("event") == "request.answered" and e.get("request_id") == request_id]


def test_request_id_follows_a_call_into_both_logs(stack: Stack) -> None:
    """The shop's x-request-id is returned to it, logged by the gateway and by the agent in JSON."""
    with grpc.insecure_channel(stack.address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        _, call = stub.GetOrder.with_call(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=(*AUTH, ("x-request-id", "shop-7f3a-0001")),
        )
        assert ("x-request-id", "shop-7f3a-0001") in tuple(call.trailing_metadata())
        wait_for(lambda: agent_lines(stack.agent_log, "shop-7f3a-0001"))
        line = agent_lines(stack.agent_log, "shop-7f3a-0001")[0]
        assert line["rpc"] == "GetOrder" and line["code"] == "OK" and line["role"] == "agent"
        assert line["tenant"] == "demo"  # an agent may serve several Mandanten: each line names its tenant
        assert line["level"] == "debug" and "timestamp" in line  # an access-log line: debug

        with pytest.raises(grpc.RpcError) as e:
            stub.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"),
                metadata=(*AUTH, ("x-request-id", "shop-7f3a-0002")),
            )
        assert ("x-request-id", "shop-7f3a-0002") in tuple(e.value.trailing_metadata())  # type: ignore[attr-defined]
        wait_for(lambda: agent_lines(stack.agent_log, "shop-7f3a-0002"))
        assert agent_lines(stack.agent_log, "shop-7f3a-0002")[0]["code"] == "NOT_FOUND"
        failed = [e for e in read_events(stack.gateway_log) if e.get("request_id") == "shop-7f3a-0002"]
        assert failed and failed[0]["event"] == "call.failed" and failed[0]["role"] == "gateway"
        assert failed[0]["code"] == "NOT_FOUND" and failed[0]["tenant"] == "demo"


def test_gateway_makes_a_request_id_when_the_shop_sends_none(stack: Stack) -> None:
    """Without x-request-id the gateway generates one, returns it in the trailers and the agent logs it."""
    with grpc.insecure_channel(stack.address) as ch:
        _, call = orders_pb2_grpc.OrderServiceStub(ch).GetOrder.with_call(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=AUTH
        )
        rid = dict(call.trailing_metadata())["x-request-id"]
        assert rid
        wait_for(lambda: agent_lines(stack.agent_log, rid))


def test_status_file_refreshes_and_reports_tunnel_and_database(tmp_path: Path) -> None:
    """The status file says ok while connected, is rewritten periodically, and tells when the gateway is gone."""
    with demo_stack(tmp_path, metrics=False) as stack:
        wait_for(lambda: stack.status_file.exists() and json.loads(stack.status_file.read_text())["ok"])
        first = json.loads(stack.status_file.read_text())
        assert first["database"] == "up" and first["tenant"] == "demo" and first["agent"] == "demo-agent"
        assert list(first["tunnels"].values()) == ["connected"]
        # Rewritten with no state change: monitoring can alert on a "time" that stops moving.
        wait_for(lambda: json.loads(stack.status_file.read_text())["time"] > first["time"])
        stack.stop("gateway")
        wait_for(lambda: not json.loads(stack.status_file.read_text())["ok"])
        last = json.loads(stack.status_file.read_text())
        assert set(last["tunnels"].values()) <= {"connecting", "disconnected"}
        assert last["database"] == "up"


def test_agent_metrics_text_file(stack: Stack) -> None:
    """The agent writes query times by query name and tunnel/database state for node_exporter's textfile collector."""
    with grpc.insecure_channel(stack.address) as ch:
        orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=AUTH
        )
        prom = stack.folder / "agent.prom"

        def parsed() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            if not prom.exists():
                return {}
            return {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for f in text_string_to_metric_families(prom.read_text())
                for s in f.samples
            }

        wait_for(lambda: any(k[0] == "onlineconnect_agent_query_seconds_count" for k in parsed()))
        got = parsed()
        queries = {dict(k[1])["query"] for k in got if k[0] == "onlineconnect_agent_query_seconds_count"}
        assert queries  # named as in the mapping, e.g. order_header
        assert got[("onlineconnect_agent_database_up", ())] == 1
        assert got[("onlineconnect_agent_tunnel_up", (("gateway", stack.address),))] == 1


def test_answered_requests_stay_out_of_an_info_log(tmp_path: Path) -> None:
    """At the default level the agent writes no line per answered request: 200 calls add no ``request.answered``."""
    with demo_stack(tmp_path, metrics=False) as s, grpc.insecure_channel(s.address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        request = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
        for _ in range(200):
            stub.GetOrder(request, metadata=AUTH)
        with pytest.raises(grpc.RpcError):
            stub.GetOrder(orders_pb2.GetOrderRequest(customer_number="4712", order_number="1"), metadata=AUTH)
        s.stop("agent")
        answered = [e for e in read_events(s.agent_log) if e.get("event") == "request.answered"]
        assert answered == []
        assert len(read_events(s.agent_log)) < 40
