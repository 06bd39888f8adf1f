"""``onlineconnect-agent diagnose --config FILE``: walk the path from the agent to the gateway one step at a time.

Where ``check`` answers "is this agent ready?", ``diagnose`` answers "where exactly does it break?" — for the first
day at a merchant, when a firewall, a proxy or a certificate is in the way. Steps, in order, one line each with a
verdict and, on failure, the fix (a failed step skips the steps that need it):

1. configuration — the file loads and validates;
2. per gateway address: DNS (of the proxy when one is used, else of the gateway); TCP (to the proxy or the
   gateway); proxy CONNECT and authentication; TLS handshake (trust chain, host name, days until the certificate
   expires); HTTP/2 by ALPN (a TLS-inspecting proxy often strips it); round trip (median of 10 gRPC health calls
   on the tunnel's connection);
3. per tenant and gateway: agent token accepted, tenant key proven (a real handshake, closed right after), clock
   offset (from the time in the gateway's welcome, measured at the middle of the round trip);
4. per tenant: ERP database reachable and every mapped query valid (the ``check`` steps).

Exit status 0 only when every step passed; ``--json`` prints ``{"ok": …, "steps": [{"step", "status", "detail",
"fix", "tenant", "gateway"}]}`` for monitoring instead of the lines.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onlineconnect.config import split_host_port
from onlineconnect.errors import ConfigError

from . import check
from .config import AgentConfig, load_agent_config, proxy_for_gateway
from .connector import CHANNEL_OPTIONS, channel_credentials
from .erp.mapping import load_mapping
from .proxy import PROBE_SECONDS, Proxy, describe_os_error, describe_refusal, grpc_proxy_options, open_tunnel
from .session import HandshakeError

ROUND_TRIPS = 10
MAX_CLOCK_OFFSET = 30.0  # seconds; beyond this the host clock is wrong, not merely drifting
EXPIRY_WARNING_DAYS = 21


@dataclass
class Steps(check.Report):
    """A :class:`check.Report` that also keeps every step (for ``--json``) and labels it with tenant and gateway."""

    as_json: bool = False
    steps: list[dict[str, str]] = field(default_factory=list)
    tenant: str = ""
    gateway: str = ""
    label_gateway: bool = False  # name the gateway in each line (only when there are several)

    def _add(self, status: str, step: str, detail: str, fix: str = "") -> None:
        self.steps.append(
            {
                "step": step,
                "status": status,
                "detail": detail,
                "fix": fix,
                "tenant": self.tenant,
                "gateway": self.gateway,
            }
        )

    def _label(self, step: str) -> str:
        where = "/".join(x for x in (self.tenant, self.gateway if self.label_gateway else "") if x)
        return f"{step} [{where}]" if where else step

    def ok(self, check: str, detail: str) -> None:
        """Records and prints a passed step."""
        self._add("ok", check, detail)
        if not self.as_json:
            super().ok(self._label(check), detail)

    def fail(self, check: str, problem: str, fix: str) -> None:
        """Records and prints a failed step with its fix."""
        self._add("fail", check, problem, fix)
        if self.as_json:
            self.failed.append(check)
        else:
            super().fail(self._label(check), problem, fix)

    def skip(self, check: str, why: str) -> None:
        """Records and prints a step that could not run."""
        self._add("skip", check, why)
        if self.as_json:
            self.failed.append(check)
        else:
            super().skip(self._label(check), why)

    def note(self, check: str, detail: str) -> None:
        """A line for information only: it never makes the run fail."""
        self._add("info", check, detail)
        if not self.as_json:
            print(f"--    {self._label(check):<22} {detail}", file=self.out)

    def skip_all(self, steps: tuple[str, ...], why: str) -> None:
        """Skips each of ``steps``."""
        for step in steps:
            self.skip(step, why)


NETWORK_STEPS = ("dns", "tcp", "proxy", "tls", "http2", "round trip")


def _tls_context(config: AgentConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if config.client_cert is not None:
        ctx.load_cert_chain(str(config.client_cert), str(config.client_key) if config.client_key else None)
    ctx.set_alpn_protocols(["h2"])
    return ctx


def _tls_failure(exc: ssl.SSLError, config: AgentConfig, host: str, proxy: Proxy | None) -> tuple[str, str]:
    """(problem, fix) for a failed TLS handshake."""
    src = config.source
    inspect = (
        " If a TLS-inspecting proxy or firewall sits in the path, it presents its own certificate: have the gateway's "
        "host exempted from inspection (or trust its CA in agent.ca_file)."
    )
    if isinstance(exc, ssl.SSLCertVerificationError):
        msg = exc.verify_message or str(exc)
        if "expired" in msg:
            return (
                f"the gateway's certificate has expired ({msg})",
                "the relay operator must renew the gateway's certificate; check this host's clock too",
            )
        if "mismatch" in msg or "hostname" in msg.lower():
            return (
                f"the certificate is not valid for {host!r} ({msg})",
                f"set agent.gateway in {src} to the name in the gateway's certificate, or have it reissued for "
                f"{host!r}",
            )
        return (
            f"the certificate chain is not trusted ({msg})",
            f"set agent.ca_file in {src} to the CA that issued the gateway's certificate (ask the relay operator)."
            + inspect,
        )
    return f"TLS handshake failed: {exc}", f"check that {host} speaks TLS on that port (agent.insecure?)." + inspect


async def _network(config: AgentConfig, gateway: str, report: Steps) -> bool:
    """DNS, TCP, proxy, TLS, HTTP/2 for one gateway; True when the path is open up to the gateway's HTTP/2."""
    src = config.source
    host, port = split_host_port(gateway, ValueError)
    proxy = proxy_for_gateway(config, gateway)
    dial_host, dial_port = (proxy.host, proxy.port) if proxy else (host, port)
    what = f"proxy {proxy.address}" if proxy else f"gateway {gateway}"
    # DNS
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(dial_host, dial_port, type=socket.SOCK_STREAM)
    except OSError as exc:
        fix = (
            f"correct the proxy host in {proxy.source}"
            if proxy
            else f"correct agent.gateway in {src}, or fix this host's DNS (resolv.conf / the Windows DNS server)"
        )
        report.fail("dns", f"{dial_host}: {describe_os_error(exc)}", fix)
        report.skip_all(NETWORK_STEPS[1:], "needs DNS")
        return False
    addresses = sorted({str(i[4][0]) for i in infos})
    report.ok("dns", f"{dial_host} → {', '.join(addresses)}" + (" (the proxy resolves the gateway)" if proxy else ""))
    # TCP
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            _r, writer = await asyncio.open_connection(dial_host, dial_port)
        writer.close()
    except (OSError, TimeoutError) as exc:
        fix = (
            f"start the proxy or correct {proxy.source}"
            if proxy
            else f"allow outbound TCP to {host} port {port} in the firewall (the agent's only port), and check that "
            f"the gateway runs there"
        )
        report.fail("tcp", f"{what}: {describe_os_error(exc)}", fix)
        report.skip_all(NETWORK_STEPS[2:], "needs TCP")
        return False
    report.ok("tcp", f"{what} accepts connections" + ("" if proxy else " (direct, no proxy)"))
    # Proxy CONNECT
    if proxy is not None:
        try:
            _reader, writer, answer = await open_tunnel(proxy, host, port)
        except (OSError, TimeoutError) as exc:
            report.fail("proxy", f"{what}: {describe_os_error(exc)}", f"check {proxy.source}")
            report.skip_all(NETWORK_STEPS[3:], "needs the proxy")
            return False
        if answer.status != 200:
            report.fail("proxy", describe_refusal(proxy, host, port, answer), f"correct {proxy.source}")
            report.skip_all(NETWORK_STEPS[3:], "needs the proxy")
            return False
        who = f" as {proxy.username!r}" if proxy.username else ""
        report.ok("proxy", f"{proxy.address} opened CONNECT to {gateway}{who}")
    else:
        report.ok("proxy", "none (direct)" + (f"; {gateway} is in no_proxy" if config.proxy else ""))
        _reader, writer = await asyncio.open_connection(host, port)
    # TLS and ALPN
    if config.insecure:
        writer.close()
        report.ok("tls", "plaintext to a loopback gateway (agent.insecure = true)")
        report.ok("http2", "plaintext HTTP/2 (prior knowledge)")
        return True
    try:
        async with asyncio.timeout(PROBE_SECONDS):
            await writer.start_tls(_tls_context(config), server_hostname=host)
    except ssl.SSLError as exc:
        writer.close()
        problem, fix = _tls_failure(exc, config, host, proxy)
        report.fail("tls", problem, fix)
        report.skip_all(NETWORK_STEPS[4:], "needs TLS")
        return False
    except (OSError, TimeoutError) as exc:
        writer.close()
        report.fail("tls", f"no TLS answer: {describe_os_error(exc)}", "check that the port is the gateway's TLS port")
        report.skip_all(NETWORK_STEPS[4:], "needs TLS")
        return False
    sslobj = writer.get_extra_info("ssl_object")
    cert = sslobj.getpeercert() if sslobj is not None else None
    alpn = sslobj.selected_alpn_protocol() if sslobj is not None else None
    writer.close()
    days = int((ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) // 86400) if cert else -1
    issuer = dict(x[0] for x in cert.get("issuer", ())) if cert else {}
    detail = f"chain trusted, valid for {host!r}, expires in {days} days (issuer {issuer.get('commonName', '?')!r})"
    if days < EXPIRY_WARNING_DAYS:
        detail += " — tell the relay operator: renew soon"
    report.ok("tls", detail)
    if alpn != "h2":
        report.fail(
            "http2",
            f"the TLS peer did not agree to HTTP/2 by ALPN (got {alpn!r}): something between the agent and the "
            "gateway terminates TLS — usually a TLS-inspecting proxy or firewall",
            "have the gateway's host exempted from TLS inspection (gRPC needs HTTP/2 end to end)",
        )
        report.skip("round trip", "needs HTTP/2")
        return False
    report.ok("http2", "negotiated h2 by ALPN")
    return True


def _channel(config: AgentConfig, gateway: str) -> grpc.aio.Channel:
    options = CHANNEL_OPTIONS + grpc_proxy_options(proxy_for_gateway(config, gateway))
    if config.insecure:
        return grpc.aio.insecure_channel(gateway, options=options)
    creds = channel_credentials(config.ca_file, config.client_cert, config.client_key)
    return grpc.aio.secure_channel(gateway, creds, options=options)


async def _round_trip(config: AgentConfig, gateway: str, report: Steps) -> None:
    """Median of ``ROUND_TRIPS`` health calls on one connection, after one that opens it."""
    channel = _channel(config, gateway)
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service="")
        await stub.Check(request, timeout=check.HANDSHAKE_SECONDS)
        times = []
        for _ in range(ROUND_TRIPS):
            started = time.perf_counter()
            await stub.Check(request, timeout=check.HANDSHAKE_SECONDS)
            times.append((time.perf_counter() - started) * 1000)
        report.ok(
            "round trip",
            f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over {ROUND_TRIPS} calls",
        )
    except grpc.aio.AioRpcError as exc:
        report.fail("round trip", f"{exc.code().name}: {exc.details()}", "see the steps above; retry in a minute")
    finally:
        await channel.close(grace=None)


def _clock(offset: float | None, report: Steps) -> None:
    """Clock offset to the gateway, from the time in its welcome (measured at the middle of the round trip)."""
    if offset is None:
        report.note("clock offset", "not measured: this gateway does not send its time (keep NTP running here)")
    elif abs(offset) <= MAX_CLOCK_OFFSET:
        report.ok("clock offset", f"{offset * 1000:+.0f} ms (gateway minus this host)")
    else:
        ahead = "behind" if offset > 0 else "ahead of"
        report.fail(
            "clock offset",
            f"this host's clock is {abs(offset):.1f} s {ahead} the gateway's",
            "turn on time synchronisation (timedatectl set-ntp true, or the Windows time service): logs, "
            "certificate validity and key rotation dates are read against the clock",
        )


def _tunnel(config: AgentConfig, gateway: str, report: Steps) -> None:
    """Agent token and tenant key: one real handshake (the ``check`` step, through the proxy when one is used)."""
    try:
        ok, detail, offset = asyncio.run(check._handshake(config, gateway))
    except (HandshakeError, OSError, ValueError) as exc:
        ok, detail, offset = False, str(exc), None
    if ok:
        report.ok("agent token", f"accepted for tenant {config.tenant!r}")
        report.ok("tenant key", f"key id {config.key_id} proven: handshake completed (session {detail})")
        _clock(offset, report)
    else:
        before = len(report.steps)
        check._explain(config, gateway, detail, report)
        # _explain reports the gateway as a step of its own; here the network steps above already did.
        report.steps[before:] = [s for s in report.steps[before:] if s["step"] != "gateway" or s["status"] != "ok"]


def run_diagnose(path: Path, *, as_json: bool = False, out: TextIO | None = None) -> int:
    """Runs every step for the agent configured in ``path``; prints one line per step (or JSON).

    Returns:
        0 when every step passed, 1 otherwise.
    """
    report = Steps(out or sys.stdout, as_json=as_json)
    try:
        config = load_agent_config(path)
    except ConfigError as exc:
        report.fail("configuration", exc.message, "correct the named key (docs/configuration.md)")
        return _finish(report)
    report.ok("configuration", str(path))
    tenants = config.tenant_configs()
    report.label_gateway = len(config.gateways) > 1
    for gateway in config.gateways:
        report.gateway = gateway
        if asyncio.run(_network(config, gateway, report)):
            asyncio.run(_round_trip(config, gateway, report))
            for tenant in tenants:
                report.tenant = tenant.tenant if len(tenants) > 1 else ""
                _tunnel(tenant, gateway, report)
            report.tenant = ""
        else:
            for tenant in tenants:
                report.tenant = tenant.tenant if len(tenants) > 1 else ""
                report.skip_all(("agent token", "tenant key"), "needs the network path to the gateway")
            report.tenant = ""
    report.gateway = ""
    for tenant in tenants:
        report.tenant = tenant.tenant if len(tenants) > 1 else ""
        try:
            mapping = load_mapping(tenant.mapping_file, params=tenant.mapping_params)
        except ConfigError as exc:
            report.fail("mapping", exc.message, "correct the mapping file")
            report.skip("database", "needs a valid mapping")
            continue
        check._check_database(tenant, mapping, report)
    report.tenant = ""
    return _finish(report)


def _finish(report: Steps) -> int:
    ok = not report.failed
    if report.as_json:
        print(json.dumps({"ok": ok, "steps": report.steps}, indent=2), file=report.out)
    else:
        print("all steps passed" if ok else f"{len(report.failed)} step(s) did not pass", file=report.out)
    return 0 if ok else 1


def main_args(args: Any) -> int:
    """Entry from ``onlineconnect-agent diagnose``."""
    return run_diagnose(args.config, as_json=bool(getattr(args, "json", False)))
