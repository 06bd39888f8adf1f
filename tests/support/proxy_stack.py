"""A real HTTP proxy (Debian's tinyproxy with Basic auth) and a TLS gateway process, for the agent's network tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import trustme

from onlineconnect.testing.processes import (
    SHOP_KEY,
    Proc,
    agent_toml,
    free_port,
    gateway_toml,
    start,
    wait_serving,
)

PROXY_USER = "ocproxy"
PROXY_PASSWORD = "proxy-pass-7"


@dataclass
class TinyProxy:
    """A tinyproxy on 127.0.0.1 that requires Basic auth; ``connects()`` reads its access log."""

    folder: Path
    port: int
    popen: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "tinyproxy.log"

    def start(self) -> None:
        """Starts (or restarts) the proxy on its port and waits until it accepts connections."""
        conf = self.folder / "tinyproxy.conf"
        conf.write_text(
            f'Port {self.port}\nListen 127.0.0.1\nTimeout 600\nLogFile "{self.log}"\nLogLevel Info\n'
            f'PidFile "{self.folder / "tinyproxy.pid"}"\nMaxClients 200\nAllow 127.0.0.1\n'
            f"BasicAuth {PROXY_USER} {PROXY_PASSWORD}\nDisableViaHeader Yes\n"
        )
        binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
        self.popen = subprocess.Popen(
            [binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("tinyproxy did not start")

    def stop(self) -> None:
        """Stops the proxy process."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            self.popen.wait(timeout=10)
        self.popen = None

    def connects(self) -> list[str]:
        """The CONNECT requests in the proxy's log."""
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text(errors="replace").splitlines() if "CONNECT " in line]

    def url(self, password: str = PROXY_PASSWORD) -> str:
        return f"http://{PROXY_USER}:{password}@127.0.0.1:{self.port}"


def have_tinyproxy() -> bool:
    return shutil.which("tinyproxy") is not None or Path("/usr/bin/tinyproxy").exists()


@dataclass
class TlsGateway:
    """A gateway process with TLS on 127.0.0.1 (certificate from a test CA)."""

    port: int
    ca_file: Path
    proc: Proc

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self) -> grpc.Channel:
        """A shop's channel to the gateway, trusting the test CA."""
        creds = grpc.ssl_channel_credentials(root_certificates=self.ca_file.read_bytes())
        return grpc.secure_channel(self.address, creds)

    def wait_serving(self, tenant: str = "demo", timeout: float = 20, key: str = SHOP_KEY) -> None:
        """Waits until ``tenant`` has an agent tunnel (asking over TLS)."""
        wait_serving(self.address, tenant, timeout, key=key, channel=self.channel)


def write_tls_pair(ca: trustme.CA, folder: Path, *identities: str, not_after: object = None) -> tuple[Path, Path]:
    """Writes a server certificate (chain) and key for ``identities`` issued by ``ca``."""
    kwargs = {"not_after": not_after} if not_after is not None else {}
    cert = ca.issue_cert(*identities, **kwargs)  # type: ignore[arg-type]
    cert_file, key_file = folder / "gateway.pem", folder / "gateway.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in cert.cert_chain_pems[1:]:
        with cert_file.open("ab") as fh:
            fh.write(extra.bytes())
    cert.private_key_pem.write_to_path(str(key_file))
    return cert_file, key_file


def start_tls_gateway(
    folder: Path, ca: trustme.CA, *, identities: tuple[str, ...] = ("127.0.0.1", "localhost"), not_after: object = None
) -> TlsGateway:
    """Starts ``onlineconnect-gateway`` with TLS for tenant ``demo`` (the keys of
    ``onlineconnect.testing.processes``)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = write_tls_pair(ca, folder, *identities, not_after=not_after)
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    port = free_port()
    config = folder / "gateway.toml"
    config.write_text(gateway_toml(f"127.0.0.1:{port}", transport=f'tls_cert = "{cert}"\ntls_key = "{key}"'))
    proc = start("onlineconnect-gateway", ["--config", str(config)], folder)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    return TlsGateway(port=port, ca_file=ca_file, proc=proc)


def write_tls_agent_config(
    folder: Path, gateway: str, ca_file: Path, erp: Path, *, agent_lines: str = "", extra: str = ""
) -> Path:
    """An agent config dialling ``gateway`` with TLS (trusting ``ca_file``) for tenant ``demo``."""
    path = folder / "agent.toml"
    lines = f"reconnect_initial_seconds = 0.2\nstatus_interval_seconds = 0.5\n{agent_lines}"
    path.write_text(
        agent_toml(
            "proxy-agent",
            f'"{gateway}"',
            erp,
            folder / "agent-status.json",
            transport=f'ca_file = "{ca_file}"',
            agent_lines=lines,
            extra=extra,
        )
    )
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any proxy variables, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in {"https_proxy", "http_proxy", "no_proxy", "grpc_proxy", "all_proxy"}
    }
    env.update(extra)
    return env
