"""Real processes: gateway replicas linked by a NATS server, agents on the demo ERP, steady shop load, and one
component stopped (SIGTERM drain) or killed (kill -9) while the load runs."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing.cluster import (
    NatsServer,
    nats_server,
    write_cluster_gateway_config,
    write_multi_agent_config,
)
from onlineconnect.testing.processes import SHOP_KEY, Proc, free_port, start, wait_serving
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    """The demo ERP (SQLite) in a temporary folder."""
    folder = tmp_path / "erp"
    create_demo_erp(folder / "erp.db", folder / "archive")
    return folder


@dataclass
class Load:
    """Sequential shop calls against one gateway address in a thread, recording each outcome."""

    address: str
    results: list[tuple[float, str]] = field(default_factory=list)  # (start time, code name or "WRONG")
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with grpc.insecure_channel(self.address) as channel:
            stub = orders_pb2_grpc.OrderServiceStub(channel)
            while not self.stop.is_set():
                began = time.monotonic()
                try:
                    answer = stub.GetOrder(ORDER, metadata=AUTH, timeout=10)
                    ok = answer.order.summary.order_number == "091782005" and len(answer.order.lines) > 0
                    self.results.append((began, "OK" if ok else "WRONG"))
                except grpc.RpcError as exc:
                    self.results.append((began, exc.code().name))
                time.sleep(0.005)

    def codes(self, after: float = 0.0) -> set[str]:
        """The outcomes of calls started after ``after`` (monotonic time)."""
        return {code for began, code in self.results if began >= after}


@dataclass
class LoadRun:
    """Several :class:`Load` threads."""

    loads: list[Load]
    threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> LoadRun:
        self.threads = [threading.Thread(target=load.run, daemon=True) for load in self.loads]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for load in self.loads:
            load.stop.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads), "a shop call hung"


def _start(name: str, config: Path, folder: Path) -> Proc:
    """Starts a console script with its log in a folder of its own (``folder/<config stem>/``)."""
    own = folder / config.stem
    own.mkdir(exist_ok=True)
    return start(name, ["--config", str(config)], own)


def _stop_all(procs: list[Proc]) -> None:
    for p in procs:
        if p.popen.poll() is None:
            p.popen.kill()
        p.popen.wait(timeout=15)


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A private NATS server for the replicas of one test."""
    with nats_server(tmp_path) as server:
        yield server


def test_sigterm_drains_a_replica_under_steady_load_without_a_failed_request(
    tmp_path: Path, erp: Path, nats: NatsServer
) -> None:
    """Two replicas, one agent configured with both: SIGTERM one replica under load on the other; the replica
    drains its agent and exits 0, the agent keeps its other tunnel, and not one request fails."""
    ports = [free_port(), free_port()]
    gws = [
        _start("onlineconnect-gateway", write_cluster_gateway_config(tmp_path, n, p, nats.url), tmp_path)
        for n, p in zip(("gw-a", "gw-b"), ports, strict=True)
    ]
    agent = _start("onlineconnect-agent", write_multi_agent_config(tmp_path, "agent-1", ports, erp), tmp_path)
    procs = [*gws, agent]
    try:
        for p in ports:
            wait_serving(f"127.0.0.1:{p}")
        survivor = Load(f"127.0.0.1:{ports[1]}")
        with LoadRun([survivor, Load(survivor.address)]) as run:
            time.sleep(1.0)
            gws[0].popen.send_signal(signal.SIGTERM)
            assert gws[0].popen.wait(timeout=30) == 0
            time.sleep(1.0)
        for load in run.loads:
            assert load.codes() == {"OK"}, sorted({c for _, c in load.results})
            assert len(load.results) > 20
        assert agent.popen.poll() is None
    finally:
        _stop_all(procs)
    drained = gws[0].lines()
    assert any(line.get("event") == "gateway.drained" and line.get("tunnels_drained") == 1 for line in drained)
    agent_events = [line.get("event") for line in agent.lines()]
    assert "tunnel.drain_requested" in agent_events


@pytest.mark.parametrize("victim", ["gateway", "agent", "nats"])
def test_killing_any_one_component_under_load_fails_only_calls_without_another_path(
    tmp_path: Path, erp: Path, nats: NatsServer, victim: str
) -> None:
    """Three replicas (agent 1 on the first, agent 2 on the second, none on the third) under load on all three:
    kill -9 of a replica, an agent or NATS gives no wrong answer and no hang; the only failures are UNAVAILABLE
    for calls that had no other path (to the killed replica's own address, or needing NATS while it is dead)."""
    ports = [free_port(), free_port(), free_port()]
    gws = [
        _start("onlineconnect-gateway", write_cluster_gateway_config(tmp_path, f"gw-{i}", p, nats.url), tmp_path)
        for i, p in enumerate(ports, 1)
    ]
    agents = [
        _start("onlineconnect-agent", write_multi_agent_config(tmp_path, f"agent-{i}", [p], erp), tmp_path)
        for i, p in ((1, ports[0]), (2, ports[1]))
    ]
    procs = [*gws, *agents]
    try:
        wait_serving(f"127.0.0.1:{ports[0]}")
        wait_serving(f"127.0.0.1:{ports[1]}")
        loads = [Load(f"127.0.0.1:{p}") for p in ports]
        with LoadRun(loads):
            deadline = time.monotonic() + 20  # the third replica answers once it has seen the others on NATS
            while loads[2].codes() != {"OK"} or len(loads[2].results) < 10:
                assert time.monotonic() < deadline, (sorted(loads[2].codes()), len(loads[2].results))
                if loads[2].codes() - {"OK"}:  # not yet: start counting again (slow machines need more than 0.2 s)
                    loads[2].results.clear()
                time.sleep(0.2)
            time.sleep(1.0)
            killed_at = time.monotonic()
            {"gateway": gws[0].popen, "agent": agents[0].popen}.get(victim, nats).kill()
            time.sleep(5.0)  # longer than a caller needs to notice a silent replica (cluster.SILENCE)
        allowed = {"OK", "UNAVAILABLE"}
        expected_only_ok = {"gateway": [1, 2], "agent": [0, 1, 2], "nats": [0, 1]}[victim]
        for i, load in enumerate(loads):
            codes = load.codes()
            assert "WRONG" not in codes
            assert codes <= allowed, (i, sorted(codes))
            if i in expected_only_ok:
                assert codes == {"OK"}, (i, victim, sorted(codes))
            assert any(began > killed_at for began, _ in load.results), f"no call on replica {i + 1} after the kill"
        if victim == "gateway":
            assert loads[0].codes(after=killed_at + 0.5) == {"UNAVAILABLE"}
        if victim == "nats":
            assert "UNAVAILABLE" in loads[2].codes(after=killed_at + 0.5)
    finally:
        _stop_all(procs)
