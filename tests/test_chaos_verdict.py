"""``make chaos`` can fail: its verdict at smoke size is PASS for the healthy system and FAIL for broken ones.

Each run is ``bench/chaos.py`` as a user runs it, on its own private PostgreSQL server, with its result written
to a temporary folder. The broken systems are made in bench code, never in the agent's: an agent that stops
answering after four calls, an agent whose mapping lost the customer filter, and a gateway caching stock for
30 s while the database changes. A last test shows the watchdog counting a call that never ends as hung, even
when gRPC itself would wait forever.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest

from onlineconnect.testing import need_service
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

BENCH = Path(__file__).resolve().parent.parent / "bench"
SMOKE = ["--rounds", "1", "--gateway-kills", "1", "--settle", "1", "--down", "0.3", "--freeze", "1", "--db-outage", "1"]
# Speed is judged by `make chaos` itself, not by the suite: on a busy machine the smoke run may take longer to
# recover, so its timing criteria are wide; wrong, hung and other outcomes still fail it.
RELAXED = ["--agent-back-target", "15", "--recovery-margin", "5"]
STEADY_ONLY = ["--faults", "none", "--settle", "2"]


def load_bench(name: str) -> ModuleType:
    """Imports ``bench/<name>.py`` as the module ``name``, as running the script would (its siblings import it by
    that name)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chaos() -> ModuleType:
    """bench/chaos.py, after checking that PostgreSQL's server binaries are there for its private server."""
    pg_private = load_bench("pg_private")
    need_service(pg_private.pg_bin() is not None, "PostgreSQL server binaries (initdb, pg_ctl): install postgresql")
    for sibling in ("harness", "chaos_truth"):  # what chaos.py imports from its own folder
        load_bench(sibling)
    return load_bench("chaos")


def start_chaos(out: Path, *args: str) -> subprocess.Popen[str]:
    """Starts ``bench/chaos.py`` with ``args``, its result going to ``out``."""
    return subprocess.Popen(
        [sys.executable, str(BENCH / "chaos.py"), "--out", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_chaos(proc: subprocess.Popen[str], out: Path) -> tuple[int, dict[str, Any], str]:
    """Waits for a chaos run; returns its exit code, its result file and its output."""
    stdout, stderr = proc.communicate(timeout=240)
    latest = out / "chaos-latest.json"
    assert latest.exists(), stdout[-3000:] + stderr[-3000:]
    return proc.returncode, json.loads(latest.read_text()), stdout


@pytest.fixture(scope="module")
def broken_runs(chaos: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The steady-load run against each broken system, the three side by side (they mostly wait on deadlines)."""
    outs = {b: tmp_path_factory.mktemp(b) for b in ("hang-after-4", "foreign-orders", "stock-cache")}
    procs = {b: start_chaos(out, *STEADY_ONLY, "--break", b) for b, out in outs.items()}
    return {b: finish_chaos(proc, outs[b]) for b, proc in procs.items()}


def total(doc: dict[str, Any]) -> dict[str, int]:
    """The TOTAL row of the result's table."""
    row: dict[str, int] = doc["table"][-1]
    assert row["phase"] == "TOTAL"
    return row


def failed(doc: dict[str, Any]) -> set[str]:
    """The criteria the run failed."""
    return {c["criterion"] for c in doc["criteria"] if not c["ok"]}


def test_a_healthy_system_passes_every_fault(chaos: ModuleType, tmp_path: Path) -> None:
    """Gateway kill, agent kill, agent SIGSTOP and PostgreSQL stop: no wrong, hung or other outcome; PASS."""
    code, doc, out = finish_chaos(start_chaos(tmp_path, *SMOKE, *RELAXED), tmp_path)
    assert code == 0 and doc["passed"] is True, out[-4000:]
    assert [f["fault"] for f in doc["faults"]] == [
        "gateway kill -9 #1",
        "agent kill -9",
        "agent SIGSTOP 1 s",
        "PostgreSQL stopped 1 s",
    ]
    row = total(doc)
    assert row["OK correct"] > 0 and row["NOT_FOUND expected"] > 0
    assert row["OK wrong"] == row["hung"] == row["other"] == 0
    assert doc["stock_writer"]["writes"] > 0
    assert "verdict: PASS" in out and "outside fault windows" in out
    assert doc["machine"]["load_average_at_start"]


def test_an_agent_that_stops_answering_fails(broken_runs: dict[str, Any]) -> None:
    """An agent that answers four calls and then none keeps its tunnel up, and the verdict is still FAIL."""
    code, doc, out = broken_runs["hang-after-4"]
    assert code == 1 and doc["passed"] is False
    assert "success outside fault windows >= 99%" in failed(doc)
    assert total(doc)["DEADLINE_EXCEEDED"] > 0
    assert "verdict: FAIL" in out


def test_an_agent_answering_other_customers_orders_fails(broken_runs: dict[str, Any]) -> None:
    """An agent whose order queries lost the customer filter answers foreign orders: OK wrong, FAIL."""
    code, doc, _ = broken_runs["foreign-orders"]
    assert code == 1 and doc["passed"] is False
    assert total(doc)["OK wrong"] > 0 and "no OK wrong" in failed(doc)
    reasons = [e["reason"] for e in doc["examples"] if e["rpc"] == "GetOrder"]
    assert any("answered, but order" in r for r in reasons), reasons[:5]


def test_a_gateway_serving_cached_stock_fails(broken_runs: dict[str, Any]) -> None:
    """Stock cached for 30 s while the database changes: answers match no state of the call's time, FAIL."""
    code, doc, _ = broken_runs["stock-cache"]
    assert code == 1 and doc["passed"] is False
    wrong = [e for e in doc["examples"] if e["outcome"] == "OK wrong"]
    assert wrong and all(e["rpc"] in {"GetStoreStock", "BatchGetStoreStock"} for e in wrong)


class _Silent(orders_pb2_grpc.OrderServiceServicer):
    """A server that takes every GetOrder and never answers."""

    async def GetOrder(self, request: Any, context: Any) -> Any:
        await asyncio.Event().wait()


def test_the_watchdog_counts_a_call_without_deadline_that_never_ends_as_hung(chaos: ModuleType) -> None:
    """A call with no deadline to a server that never answers would wait forever; the watchdog ends it as hung."""

    async def scenario() -> str:
        server = grpc.aio.server()
        orders_pb2_grpc.add_OrderServiceServicer_to_server(_Silent(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        watchdog = chaos.Watchdog(asyncio.get_running_loop())
        watchdog.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ch:
                call = orders_pb2_grpc.OrderServiceStub(ch).GetOrder(orders_pb2.GetOrderRequest(), timeout=None)
                _, code = await chaos.watched(watchdog, 1, time.monotonic() + 0.3, call)
                return str(code)
        finally:
            watchdog.halt.set()
            await server.stop(None)

    assert asyncio.run(scenario()) == "hung"
