"""A real gateway and a real agent, started as processes through their console scripts, on the demo ERP.

Used by the operations tests that must see the system the way an operator or a shop does: grpcurl, the Node.js
example, JSON logs of both processes, the metrics endpoint. Both processes log JSON to files in the test's folder;
the gateway binds port 0 and the test learns the port from its ``gateway.started`` line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing import processes

BIN = Path(sys.executable).parent
SHOP_KEY = "demo-shop-key"
AGENT_TOKEN = "demo-agent-token"
TENANT_KEY = "57ea0dae8fa4ee3ebfc34523b42b3feb"


def gateway_toml(*, metrics: bool = True, listen: str = "127.0.0.1:0") -> str:
    """A loopback gateway configuration for tenant ``demo`` with the demo's keys, logging JSON."""
    return processes.gateway_toml(
        listen,
        tenant_key=TENANT_KEY,
        shop_key=SHOP_KEY,
        agent_token=AGENT_TOKEN,
        shop="demo-shop",
        agent="demo-agent",
        tables='[metrics]\nlisten = "127.0.0.1:0"\n' if metrics else "",
    )


def agent_toml(gateway: str, *, status_interval: float = 0.2, log_level: str = "info") -> str:
    """A demo agent configuration dialing ``gateway``, with a status file and JSON logs."""
    return f"""
[agent]
id = "demo-agent"
gateway = "{gateway}"
insecure = true
token = "env:OC_TEST_AGENT_TOKEN"
tenant = "demo"
key_id = 1
key = "file:tenant.key"
status_file = "agent-status.json"
status_interval_seconds = {status_interval}
reconnect_initial_seconds = 0.05
reconnect_max_seconds = 0.5

[database]
url = "sqlite:///erp.db"

[log]
format = "json"
level = "{log_level}"

[orders]
archive_root = "archive"

[metrics]
textfile = "agent.prom"
"""


def read_events(path: Path) -> list[dict[str, Any]]:
    """The JSON log lines of a process (other lines, e.g. from C libraries, are skipped)."""
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return events


def wait_event(path: Path, event: str, timeout: float = 30.0) -> dict[str, Any]:
    """Waits for the first log line with ``event`` in a process's JSON log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for ev in read_events(path):
                if ev.get("event") == event:
                    return ev
        time.sleep(0.05)
    raise AssertionError(f"no {event!r} in {path} within {timeout} s:\n{path.read_text() if path.exists() else ''}")


def tenant_status(address: str, tenant: str = "demo") -> int:
    """The gRPC health status of ``onlineconnect.tenant.<tenant>`` (``""`` for the server as a whole), asked with
    the demo shop key (a tenant's status is only shown to its shops and to operators)."""
    service = f"onlineconnect.tenant.{tenant}" if tenant else ""
    with grpc.insecure_channel(address) as ch:
        request = health_pb2.HealthCheckRequest(service=service)
        auth = (("authorization", f"Bearer {SHOP_KEY}"),)
        status: int = health_pb2_grpc.HealthStub(ch).Check(request, metadata=auth, timeout=5).status
        return status


def wait_serving(address: str, tenant: str = "demo", timeout: float = 30.0) -> None:
    """Waits until the tenant's health is SERVING (its agent is connected)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(grpc.RpcError):
            if tenant_status(address, tenant) == health_pb2.HealthCheckResponse.SERVING:
                return
        time.sleep(0.05)
    raise AssertionError(f"tenant {tenant!r} not SERVING at {address} within {timeout} s")


@dataclass
class Stack:
    """The running processes and where to find them."""

    folder: Path
    address: str = ""
    metrics_port: int = 0
    http: str = ""  # the HTTP (Connect) listener's base URL, when the stack has one
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_log(self) -> Path:
        """The gateway's JSON log."""
        return self.folder / "gateway.log"

    @property
    def agent_log(self) -> Path:
        """The agent's JSON log."""
        return self.folder / "agent.log"

    @property
    def status_file(self) -> Path:
        """The agent's status file."""
        return self.folder / "agent-status.json"

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Starts a console script with stdout/stderr going to ``<name>.log``."""
        with (self.folder / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.folder, env={**os.environ, **(env or {})}
            )
        self.procs[name] = proc
        return proc

    def start_agent(self) -> None:
        """Starts the agent process (again, after :meth:`stop`)."""
        self.spawn(
            "agent",
            [str(BIN / "onlineconnect-agent"), "--config", str(self.folder / "agent.toml")],
            env={"OC_TEST_AGENT_TOKEN": AGENT_TOKEN},
        )

    def stop(self, name: str) -> int:
        """Stops a process with SIGTERM, as systemd does; returns its exit code."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


@contextlib.contextmanager
def demo_stack(
    folder: Path,
    *,
    agent: bool = True,
    metrics: bool = True,
    http: bool = False,
    extra: str = "",
    agent_log_level: str = "info",
) -> Iterator[Stack]:
    """Runs ``onlineconnect-gateway`` and (optionally) ``onlineconnect-agent`` on a fresh demo ERP in ``folder``.

    Args:
        http: Also open the gateway's HTTP (Connect) listener on a free loopback port (``stack.http``).
        extra: More gateway configuration (tables, ``[[shops]]``), appended to the template.
    """
    folder.mkdir(parents=True, exist_ok=True)
    create_demo_erp(folder / "erp.db", folder / "archive")
    toml = gateway_toml(metrics=metrics) + extra
    if http:
        toml += '\n[http]\nlisten = "127.0.0.1:0"\ninsecure = true\n'
    (folder / "gateway.toml").write_text(toml)
    (folder / "tenant.key").write_text(TENANT_KEY + "\n")
    stack = Stack(folder)
    try:
        stack.spawn("gateway", [str(BIN / "onlineconnect-gateway"), "--config", str(folder / "gateway.toml")])
        started = wait_event(stack.gateway_log, "gateway.started")
        stack.address = f"127.0.0.1:{started['port']}"
        if metrics:
            stack.metrics_port = int(wait_event(stack.gateway_log, "metrics.started")["port"])
        if http:
            stack.http = f"http://127.0.0.1:{wait_event(stack.gateway_log, 'http.started')['port']}"
        (folder / "agent.toml").write_text(agent_toml(stack.address, log_level=agent_log_level))
        if agent:
            stack.start_agent()
            wait_serving(stack.address)
        yield stack
    finally:
        for name in list(stack.procs):
            stack.stop(name)
