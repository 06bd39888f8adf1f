"""The agent's hash-chained audit log and ``onlineconnect-agent audit verify``."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent import audit
from onlineconnect.agent.connector import Connector
from onlineconnect.agent.session import TunnelSession
from onlineconnect.testing import AGENT_TOKEN, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.testing.processes import BIN
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc


def write_log(path: Path, n: int = 5) -> list[str]:
    """Writes ``n`` records and returns the file's lines."""
    log = audit.AuditLog(path)
    for i in range(n):
        log.record(
            tenant="acme", shop="s", rpc="GetOrder", customer=str(4700 + i), code="OK", ms=1.5, request_id=f"r{i}"
        )
    log.close()
    return path.read_text().splitlines(keepends=True)


def verify_cli(path: Path) -> subprocess.CompletedProcess[str]:
    """Runs the console script's verify command."""
    return subprocess.run(
        [str(BIN / "onlineconnect-agent"), "audit", "verify", str(path)], capture_output=True, text=True
    )


def test_intact_log_verifies_and_chain_continues_after_reopen(tmp_path: Path) -> None:
    """An untouched log verifies (exit 0), also when a restarted agent appended to it."""
    path = tmp_path / "audit.jsonl"
    write_log(path, 3)
    write_log(path, 2)
    result = verify_cli(path)
    assert result.returncode == 0, result.stdout
    assert "5 records, chain intact" in result.stdout


@pytest.mark.parametrize("tamper", ["edit", "remove", "reorder", "edit-and-rehash"])
def test_edited_removed_or_reordered_record_is_detected(tmp_path: Path, tamper: str) -> None:
    """Changing a field, deleting a line, swapping two lines or recomputing one line's hash fails verify (exit 1)."""
    path = tmp_path / "audit.jsonl"
    lines = write_log(path)
    if tamper == "edit":
        lines[2] = lines[2].replace('"customer":"4702"', '"customer":"4799"')
    elif tamper == "remove":
        del lines[2]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    else:  # a forger who recomputes the edited line's own hash still breaks the next line's link
        rec = json.loads(lines[2])
        rec["code"] = "NOT_FOUND"
        rec["hash"] = audit._digest(rec["prev"], rec)
        lines[2] = json.dumps(rec, separators=(",", ":")) + "\n"
    path.write_text("".join(lines))
    result = verify_cli(path)
    assert result.returncode == 1, result.stdout
    flagged = "line 4" if tamper == "edit-and-rehash" else "line 3"
    assert "BROKEN" in result.stdout and flagged in result.stdout


async def test_every_answered_request_is_recorded_with_ids_only(tmp_path: Path) -> None:
    """Answers and errors through the relay each give a record with tenant, shop, RPC, customer, code, duration."""
    log = audit.AuditLog(tmp_path / "audit.jsonl")
    async with running_relay(FakeHandlers(), start_agent=False) as relay:

        def make() -> TunnelSession:
            return TunnelSession(
                tenant="demo",
                agent_id="a",
                token=AGENT_TOKEN,
                key_id=1,
                key=relay.key,
                handlers=relay.handlers,
                audit=log,
            )

        conn = Connector(relay.address, make, credentials=None, initial_backoff=0.05)
        relay.connectors.append(conn)
        relay.agent_tasks.append(asyncio.create_task(conn.run()))
        await relay.wait_tunnels("demo")
        ch = relay.shop_channel()
        orders = orders_pb2_grpc.OrderServiceStub(ch)
        await orders.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=relay.shop_auth
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await orders.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"), metadata=relay.shop_auth
            )
        await stock_pb2_grpc.StockServiceStub(ch).GetStoreStock(
            stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=relay.shop_auth
        )
    log.close()
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(r["rpc"], r["customer"], r["code"]) for r in records] == [
        ("GetOrder", "4711", "OK"),
        ("GetOrder", "4712", "NOT_FOUND"),
        ("GetStoreStock", "", "OK"),
    ]
    assert all(r["tenant"] == "demo" and r["shop"] == "shop" and r["ms"] >= 0 and r["time"] for r in records)
    assert audit.verify(tmp_path / "audit.jsonl").ok
