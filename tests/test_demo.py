"""`make demo`'s command: demo ERP, gateway, agent and storefront come up, print grpcurl lines, stop on Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from onlineconnect.testing import need_service
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def demo_ports_free() -> None:
    """The demo's fixed ports (50051 gateway, 8081 its HTTP listener, 8080 storefront) must be free."""
    need_service(_free(50051) and _free(8081) and _free(8080), "ports 50051/8081/8080 are busy (is a demo running?)")


def assert_mandanten_apart(address: str) -> None:
    """Each demo Mandant's shop sees its own customers' orders and never the other Mandant's."""
    with grpc.insecure_channel(address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        for key, own, foreign in (
            ("demo-shop-key", ("4711", "091782005"), ("5711", "291782005")),
            ("demo2-shop-key", ("5711", "291782005"), ("4711", "091782005")),
        ):
            auth = (("authorization", f"Bearer {key}"),)
            got = stub.GetOrder(orders_pb2.GetOrderRequest(customer_number=own[0], order_number=own[1]), metadata=auth)
            assert got.order.summary.order_number == own[1]
            with pytest.raises(grpc.RpcError) as e:
                stub.GetOrder(
                    orders_pb2.GetOrderRequest(customer_number=foreign[0], order_number=foreign[1]), metadata=auth
                )
            assert e.value.code() == grpc.StatusCode.NOT_FOUND  # type: ignore[attr-defined]


def test_demo_prints_grpcurl_calls_and_stops_cleanly_on_ctrl_c(demo_ports_free: None, tmp_path: Path) -> None:
    """`onlineconnect demo` comes up, prints ready-to-paste grpcurl commands, and Ctrl-C stops every process."""
    log = tmp_path / "demo.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [str(BIN / "onlineconnect"), "demo", "--config-dir", str(ROOT / "deploy" / "demo")],
            cwd=tmp_path,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "Press Ctrl-C to stop." not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "demo did not come up in 90 s"
            time.sleep(0.2)
        out = log.read_text(errors="replace")
        assert "grpcurl -plaintext -H 'authorization: Bearer demo-shop-key'" in out
        assert "onlineconnect.v1.OrderService/GetOrder" in out
        assert "http://127.0.0.1:8080/" in out
        assert "curl -sS -H 'authorization: Bearer demo-shop-key'" in out
        assert "http://127.0.0.1:8081/onlineconnect.v1.OrderService/GetOrder" in out
        assert "demo2-shop-key" in out
        assert_mandanten_apart("127.0.0.1:50051")
        proc.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends to the foreground process
        assert proc.wait(timeout=40) == 0
        for _ in range(100):
            if _free(50051) and _free(8081) and _free(8080):
                break
            time.sleep(0.1)
        assert _free(50051) and _free(8081) and _free(8080), "gateway or storefront still running after Ctrl-C"
    finally:
        if proc.poll() is None:
            proc.kill()
