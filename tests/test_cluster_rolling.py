"""A routine rolling restart of two gateway replicas under shop load: no failed call, one drain per replica (the
agent keeps away from a draining replica instead of reconnecting to be drained again), nothing a shipped alert
would fire on."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing.cluster import nats_server, write_cluster_gateway_config, write_multi_agent_config
from onlineconnect.testing.processes import SHOP_KEY, Proc, free_port, start
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
# A shop that knows both replicas, as behind a load balancer: round robin, and a retry of UNAVAILABLE (what a
# draining replica answers a call that still reaches it: "call another replica").
SHOP_SERVICE_CONFIG = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
        {
            "name": [{"service": "onlineconnect.v1.OrderService"}],
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.05s",
                "maxBackoff": "0.2s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }
    ],
}


@dataclass
class Shop:
    """Sequential GetOrder calls against both replicas in a thread, recording each outcome."""

    ports: list[int]
    codes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # of the failed calls
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        target = "ipv4:" + ",".join(f"127.0.0.1:{p}" for p in self.ports)
        options = [
            ("grpc.service_config", json.dumps(SHOP_SERVICE_CONFIG)),
            ("grpc.enable_retries", 1),
            # A restarted replica is back in the rotation within half a second, as a load balancer's check would.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ]
        with grpc.insecure_channel(target, options=options) as channel:
            stub = orders_pb2_grpc.OrderServiceStub(channel)
            while not self.stop.is_set():
                try:
                    answer = stub.GetOrder(ORDER, metadata=AUTH, timeout=10)
                    self.codes.append("OK" if answer.order.summary.order_number == "091782005" else "WRONG")
                except grpc.RpcError as exc:
                    self.codes.append(exc.code().name)
                    self.details.append(exc.details() or "")
                time.sleep(0.01)


def wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Polls ``check`` until it holds; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def tunnels(status_file: Path) -> dict[str, str]:
    """The agent's tunnel states by gateway address, from its status file."""
    try:
        return dict(json.loads(status_file.read_text())["tunnels"])
    except (OSError, ValueError, KeyError):
        return {}


def test_a_rolling_restart_under_load_fails_no_call_and_drains_each_replica_once(tmp_path: Path) -> None:
    """Two replicas linked by NATS, one agent configured with both, two shops calling both: restart A, wait for
    the agent to be back on it, restart B. No shop call fails, each old replica drained its one tunnel once, the
    agent was asked to move once per restart, and every new replica got exactly one tunnel connect."""
    erp = tmp_path / "erp"
    create_demo_erp(erp / "erp.db", erp / "archive")
    ports = [free_port(), free_port()]
    names = ["gw-a", "gw-b"]
    with nats_server(tmp_path) as nats:

        def gateway(i: int, round_: int) -> Proc:
            folder = tmp_path / f"round{round_}"
            folder.mkdir(exist_ok=True)
            config = write_cluster_gateway_config(
                folder, names[i], ports[i], nats.url, server_extra="drain_grace_seconds = 5"
            )
            own = folder / names[i]
            own.mkdir(exist_ok=True)
            return start("onlineconnect-gateway", ["--config", str(config)], own)

        gws = [gateway(0, 1), gateway(1, 1)]
        agent_config = write_multi_agent_config(tmp_path, "agent-1", ports, erp)
        status = tmp_path / "agent-1-status.json"
        (tmp_path / "agent").mkdir()
        agent = start("onlineconnect-agent", ["--config", str(agent_config)], tmp_path / "agent")
        procs = [*gws, agent]
        old: list[Proc] = []
        try:
            both = {f"127.0.0.1:{p}": "connected" for p in ports}
            wait(lambda: tunnels(status) == both, 60, "the agent did not connect to both replicas")
            shops = [Shop(ports), Shop(ports)]
            threads = [threading.Thread(target=s.run, daemon=True) for s in shops]
            for t in threads:
                t.start()
            try:
                time.sleep(1.0)
                for i in (0, 1):
                    gws[i].popen.send_signal(signal.SIGTERM)
                    assert gws[i].popen.wait(timeout=30) == 0
                    old.append(gws[i])
                    gws[i] = gateway(i, 2)
                    procs.append(gws[i])
                    wait(lambda: tunnels(status) == both, 60, f"the agent did not come back to {names[i]}")
                time.sleep(1.0)
            finally:
                for s in shops:
                    s.stop.set()
                for t in threads:
                    t.join(30)
            calls = [c for s in shops for c in s.codes]
            assert len(calls) > 50
            assert set(calls) == {"OK"}, (
                {c: calls.count(c) for c in set(calls)},
                {d for s in shops for d in s.details},
            )
        finally:
            for p in procs:
                if p.popen.poll() is None:
                    p.popen.kill()
                p.popen.wait(timeout=15)
    for p in old:
        drained = [line for line in p.lines() if line.get("event") == "gateway.drained"]
        assert [d.get("tunnels_drained") for d in drained] == [1], drained
    for p in gws:
        opened = [line for line in p.lines() if line.get("event") == "tunnel.opened"]
        assert len(opened) == 1, opened  # far below the flapping alert's 10 in 15 minutes
    moves = [line for line in agent.lines() if line.get("event") == "tunnel.drain_requested"]
    assert len(moves) == 2, moves
    assert all(int(str(m.get("avoid_seconds", 0))) > 0 for m in moves), moves
