"""The real console scripts as a user runs them: gateway and agent processes, signals, restarts, sockets."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing.processes import (
    SHOP_KEY,
    free_port,
    listening_sockets,
    start,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
BIG_PDF_BYTES = 20 * 1024 * 1024


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    """A demo ERP whose sheet invoice is a 20 MB PDF (for long-running streams)."""
    folder = tmp_path / "erp"
    create_demo_erp(folder / "erp.db", folder / "archive")
    big = folder / "archive" / "big.pdf"
    with big.open("wb") as fh:
        fh.write(b"%PDF-1.4\n")
        block = bytes(range(256)) * 4096
        while fh.tell() < BIG_PDF_BYTES:
            fh.write(block)
        fh.write(b"\n%%EOF\n")
    con = sqlite3.connect(folder / "erp.db")
    con.execute("UPDATE documents SET pdf_path = 'big.pdf' WHERE order_no = '091782005'")
    con.commit()
    con.close()
    return folder


def get_order(address: str) -> orders_pb2.GetOrderResponse:
    with grpc.insecure_channel(address) as ch:
        return orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=AUTH, timeout=5
        )


def document_id(address: str) -> str:
    return get_order(address).order.documents[0].document_id


def test_console_scripts_serve_the_sheet_order(tmp_path: Path, erp: Path) -> None:
    """onlineconnect-gateway and onlineconnect-agent started from config files answer GetOrder end to end."""
    port = free_port()
    gw = start("onlineconnect-gateway", ["--config", str(write_gateway_config(tmp_path, port))], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(tmp_path, port, erp))], tmp_path)
    try:
        wait_serving(f"127.0.0.1:{port}")
        resp = get_order(f"127.0.0.1:{port}")
        assert [line.article_number for line in resp.order.lines] == ["6392", "6393", "SY 1", "12009", "22030"]
        assert listening_sockets(agent.popen.pid) == [], "the agent must not listen on any port"
        assert listening_sockets(gw.popen.pid), "sanity check: the gateway does listen"
    finally:
        assert agent.stop() == 0
        assert gw.stop() == 0


def test_agent_reconnects_after_gateway_restart_and_first_connect_failure(tmp_path: Path, erp: Path) -> None:
    """An agent started before its gateway connects once it appears, and again after the gateway is killed."""
    port = free_port()
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(tmp_path, port, erp))], tmp_path)
    gw_config = write_gateway_config(tmp_path, port)
    try:
        time.sleep(1.0)  # the agent's first attempts fail: nobody listens yet
        gw = start("onlineconnect-gateway", ["--config", str(gw_config)], tmp_path)
        wait_serving(f"127.0.0.1:{port}")
        gw.stop(signal.SIGKILL)
        gw = start("onlineconnect-gateway", ["--config", str(gw_config)], tmp_path)
        wait_serving(f"127.0.0.1:{port}")
        assert get_order(f"127.0.0.1:{port}").order.summary.order_number == "091782005"
        gw.stop()
    finally:
        assert agent.stop() == 0
    events = [line.get("event") for line in agent.lines()]
    assert events.count("tunnel.ready") >= 2


def _read_slowly(address: str, doc: str, out: dict[str, object], delay: float) -> None:
    """Streams the big invoice with a pause per chunk; records bytes or the error code in ``out``."""
    with grpc.insecure_channel(address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        total = 0
        try:
            for i, msg in enumerate(
                stub.GetInvoicePdf(
                    orders_pb2.GetInvoicePdfRequest(customer_number="4711", order_number="091782005", document_id=doc),
                    metadata=AUTH,
                    timeout=60,
                )
            ):
                total += len(msg.data)
                out["started"] = True
                if i < 40:
                    time.sleep(delay)
            out["bytes"] = total
        except grpc.RpcError as exc:
            out["code"] = exc.code()


def test_sigterm_drains_in_flight_requests_then_exits_zero(tmp_path: Path, erp: Path) -> None:
    """SIGTERM during a long stream lets the stream finish, then the agent exits 0."""
    port = free_port()
    gw = start("onlineconnect-gateway", ["--config", str(write_gateway_config(tmp_path, port))], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(tmp_path, port, erp))], tmp_path)
    try:
        address = f"127.0.0.1:{port}"
        wait_serving(address)
        doc = document_id(address)
        out: dict[str, object] = {}
        reader = threading.Thread(target=_read_slowly, args=(address, doc, out, 0.02))
        reader.start()
        while not out.get("started"):
            time.sleep(0.01)
        agent.popen.send_signal(signal.SIGTERM)
        reader.join(60)
        assert out.get("bytes", 0) > BIG_PDF_BYTES, out
        assert agent.popen.wait(timeout=30) == 0
    finally:
        agent.stop()
        gw.stop()


def test_killed_agent_fails_the_call_unavailable(tmp_path: Path, erp: Path) -> None:
    """kill -9 of the agent in the middle of a stream gives the shop UNAVAILABLE, not a hang."""
    port = free_port()
    gw = start("onlineconnect-gateway", ["--config", str(write_gateway_config(tmp_path, port))], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(tmp_path, port, erp))], tmp_path)
    try:
        address = f"127.0.0.1:{port}"
        wait_serving(address)
        doc = document_id(address)
        out: dict[str, object] = {}
        reader = threading.Thread(target=_read_slowly, args=(address, doc, out, 0.05))
        reader.start()
        while not out.get("started"):
            time.sleep(0.01)
        agent.popen.kill()
        reader.join(30)
        assert not reader.is_alive()
        assert out.get("code") == grpc.StatusCode.UNAVAILABLE, out
    finally:
        agent.stop()
        gw.stop()


def test_agent_started_while_the_database_is_down_serves_once_it_is_back(tmp_path: Path) -> None:
    """An agent whose ERP database is unreachable at start still opens its tunnel, answers UNAVAILABLE naming
    the database, and serves real answers (after checking its mapping) once the database appears."""
    port = free_port()
    erp = tmp_path / "erp-later"
    gw = start("onlineconnect-gateway", ["--config", str(write_gateway_config(tmp_path, port))], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(tmp_path, port, erp))], tmp_path)
    try:
        address = f"127.0.0.1:{port}"
        wait_serving(address)
        with pytest.raises(grpc.RpcError) as e:
            get_order(address)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "ERP database unreachable" in (e.value.details() or "")
        create_demo_erp(erp / "erp.db", erp / "archive")
        deadline = time.monotonic() + 30
        while True:
            try:
                assert get_order(address).order.summary.order_number == "091782005"
                break
            except grpc.RpcError:
                assert time.monotonic() < deadline, "the agent did not recover"
                time.sleep(0.2)
        while "mapping.validated" not in [line.get("event") for line in agent.lines()]:
            assert time.monotonic() < deadline, "the mapping was never validated"
            time.sleep(0.2)
        assert "database.unreachable_at_start" in [line.get("event") for line in agent.lines()]
    finally:
        assert agent.stop() == 0
        gw.stop()
