"""Start the real console scripts (gateway, agent) with generated config files, as a user would."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
TENANT_KEY = "00112233445566778899aabbccddeeff"
SHOP_KEY = "proc-shop-key"
AGENT_TOKEN = "proc-agent-token"


def sha(s: str) -> str:
    import hashlib

    return hashlib.sha256(s.encode()).hexdigest()


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_toml(
    listen: str,
    *,
    tenant_key: str = TENANT_KEY,
    shop_key: str = SHOP_KEY,
    agent_token: str = AGENT_TOKEN,
    shop: str = "shop",
    agent: str = "agent",
    server_extra: str = "",
    tables: str = "",
    transport: str = "insecure = true",
) -> str:
    """The one gateway configuration template of the tests and benchmarks: loopback, plaintext, JSON logs, tenant
    ``demo`` with one shop key and one agent token.

    Args:
        listen: The gRPC listen address.
        server_extra: More lines for the ``[server]`` table.
        transport: The ``[server]`` lines choosing plaintext or TLS (``tls_cert = …`` and ``tls_key = …``).
        tables: More tables (``[cluster]``, ``[metrics]`` …), placed before the tenant; the tenant's table is
            directly followed by ``[[shops]]`` (``bench/harness.py`` adds tenant settings there).
    """
    return f"""
[server]
listen = "{listen}"
{transport}
{server_extra}
[log]
format = "json"
{tables}
[tenants.demo]
keys = {{ 1 = "{tenant_key}" }}
[[shops]]
name = "{shop}"
tenant = "demo"
key_sha256 = "{sha(shop_key)}"
[[agents]]
name = "{agent}"
token_sha256 = "{sha(agent_token)}"
tenants = ["demo"]
"""


def tenants_gateway_toml(listen: str, tenants: dict[str, tuple[str, str, str]]) -> str:
    """A plaintext loopback gateway serving several tenants (Mandanten) with JSON logs: ``tenants`` maps each
    tenant's name to (tenant key, shop name, shop key); one agent (``AGENT_TOKEN``) may serve them all."""
    tables = "".join(f'[tenants.{name}]\nkeys = {{ 1 = "{key}" }}\n' for name, (key, _, _) in tenants.items())
    shops = "".join(
        f'[[shops]]\nname = "{shop}"\ntenant = "{name}"\nkey_sha256 = "{sha(shop_key)}"\n'
        for name, (_, shop, shop_key) in tenants.items()
    )
    names = ", ".join(f'"{name}"' for name in tenants)
    return (
        f'[server]\nlisten = "{listen}"\ninsecure = true\n[log]\nformat = "json"\n{tables}{shops}'
        f'[[agents]]\nname = "agent"\ntoken_sha256 = "{sha(AGENT_TOKEN)}"\ntenants = [{names}]\n'
    )


def write_gateway_config(folder: Path, port: int) -> Path:
    """Writes a loopback plaintext gateway config for tenant ``demo``."""
    path = folder / "gateway.toml"
    path.write_text(gateway_toml(f"127.0.0.1:{port}"))
    return path


def agent_toml(
    agent_id: str,
    gateway: str,
    erp: Path,
    status_file: Path,
    *,
    transport: str = "insecure = true",
    agent_lines: str = "",
    extra: str = "",
) -> str:
    """The one agent configuration template of the tests and benchmarks: tenant ``demo`` with this module's token
    and key, the demo ERP in ``erp`` (``erp.db``, ``archive/``), JSON logs.

    Args:
        agent_id: The agent's id.
        gateway: The TOML value of ``agent.gateway``: one quoted address or a list.
        erp: The folder of the demo ERP.
        status_file: Where the agent writes its status.
        transport: The ``[agent]`` lines choosing plaintext or TLS (``ca_file = …``).
        agent_lines: More lines for the ``[agent]`` table.
        extra: More tables.
    """
    return f"""
[agent]
id = "{agent_id}"
gateway = {gateway}
{transport}
token = "{AGENT_TOKEN}"
tenant = "demo"
key_id = 1
key = "{TENANT_KEY}"
reconnect_max_seconds = 1.0
status_file = "{status_file}"
{agent_lines}
[database]
url = "sqlite:///{erp / "erp.db"}"
[log]
format = "json"
[orders]
archive_root = "{erp / "archive"}"
{extra}
"""


def write_agent_config(folder: Path, port: int, erp: Path, *, extra: str = "") -> Path:
    """Writes an agent config for the demo ERP in ``erp`` (erp.db, archive/) dialling 127.0.0.1:port."""
    path = folder / "agent.toml"
    path.write_text(agent_toml("proc-agent", f'"127.0.0.1:{port}"', erp, folder / "agent-status.json", extra=extra))
    return path


@dataclass
class Proc:
    """A running console script with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    extra: list[str] = field(default_factory=list)

    def lines(self) -> list[dict[str, object]]:
        """The JSON log lines written so far."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Sends ``sig`` and waits for the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        return self.popen.wait(timeout=timeout)


def start(name: str, args: list[str], folder: Path, *, env: dict[str, str] | None = None) -> Proc:
    """Starts ``BIN/name args`` with stdout+stderr into ``folder/name.log`` (environment ``env``, else ours)."""
    log = folder / f"{name}.log"
    fh = open(log, "ab")
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    popen = subprocess.Popen([str(BIN / name), *args], stdout=fh, stderr=subprocess.STDOUT, env=env)
    fh.close()
    return Proc(name, popen, log)


def wait_serving(
    address: str,
    tenant: str = "demo",
    timeout: float = 20,
    *,
    key: str = SHOP_KEY,
    channel: Callable[[], Any] | None = None,
) -> None:
    """Waits until the gateway reports ``tenant`` SERVING (an agent is connected), asking with shop key ``key``
    (a tenant's health is shown only to its own shops and to operators) over ``channel()`` (default: plaintext)."""
    import time

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    request = health_pb2.HealthCheckRequest(service=f"onlineconnect.tenant.{tenant}")
    auth = (("authorization", f"Bearer {key}"),)
    deadline = time.monotonic() + timeout
    with channel() if channel is not None else grpc.insecure_channel(address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            try:
                if stub.Check(request, metadata=auth, timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"tenant {tenant} not serving on {address} within {timeout} s")


def listening_sockets(pid: int) -> list[str]:
    """Listening TCP/TCP6 sockets (and bound UDP ones) owned by process ``pid``, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            cols = row.split()
            state, inode = cols[3], cols[9]
            listening = state == "0A" if table.startswith("tcp") else state == "07"
            if inode in inodes and listening:
                found.append(f"{table} {cols[1]}")
    return found
