"""The agent's way out through an HTTP proxy (CONNECT), and the probes that name why a connection failed.

gRPC's core tunnels through an HTTP proxy by itself (channel argument ``grpc.http_proxy``, Basic auth from the
URL's user info), with TLS to the gateway end to end inside the CONNECT tunnel. What it does not do is say *why*
a connect failed: a proxy's ``407 Proxy Authentication Required``, a proxy that is down and a gateway that is down
all surface as the same opaque ``UNAVAILABLE``. So after a failed connect the agent asks the network itself
(:func:`explain`): a TCP connect to the gateway, or a ``CONNECT`` through the proxy with the same credentials,
and reports what answered — "proxy 10.0.0.5:3128 answered 407 Proxy Authentication Required" instead of
"gateway refused the tunnel".

The proxy is taken from ``[agent] proxy`` (password also as ``proxy_password`` in the ``env:``/``file:`` secret
forms) or else from the standard ``https_proxy`` / ``HTTPS_PROXY`` / ``grpc_proxy`` environment, and
``no_proxy`` / ``NO_PROXY`` is honoured either way. The agent decides per gateway address and hands gRPC the
decision explicitly (``grpc.http_proxy`` or ``grpc.enable_http_proxy = 0``), so the probes, ``diagnose`` and the
tunnel always take the same path.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

PROBE_SECONDS = 5.0


class ProxyError(ValueError):
    """A proxy URL that cannot be used (raised while loading the configuration)."""


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy the agent reaches the gateway through with CONNECT."""

    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    source: str = "agent.proxy"  # where it came from, for messages: the config key or the environment variable

    @classmethod
    def parse(cls, url: str, *, password: str | None = None, source: str = "agent.proxy") -> Proxy:
        """Parses ``http://[user[:password]@]host[:port]`` (port 3128 if absent; a bare ``host:port`` is accepted).

        Raises:
            ProxyError: not an http URL with a host.
        """
        if "://" not in url:
            url = "http://" + url
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise ProxyError(
                f"expected an http:// proxy URL (the proxy is spoken to in plain HTTP, CONNECT carries TLS), "
                f"got scheme {parts.scheme!r}"
            )
        if not parts.hostname:
            raise ProxyError("expected http://[user:password@]host:port")
        try:
            port = parts.port or 3128
        except ValueError as exc:
            raise ProxyError(f"bad port: {exc}") from exc
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username or ""),
            password=password if password is not None else unquote(parts.password or ""),
            source=source,
        )

    @property
    def address(self) -> str:
        """``host:port`` of the proxy (no credentials: safe to log)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def grpc_url(self) -> str:
        """The proxy as gRPC's ``grpc.http_proxy`` channel argument wants it (credentials percent-encoded)."""
        if not self.username:
            return f"http://{self.address}"
        auth = quote(self.username, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        return f"http://{auth}@{self.address}"

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` header value (Basic), or None without credentials."""
        if not self.username:
            return None
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def masked(self) -> str:
        """The URL with the password masked (``--print-config``, logs)."""
        user = f"{self.username}:***@" if self.username else ""
        return f"http://{user}{self.address}"


def proxy_from_env(env: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy of the standard environment (``grpc_proxy``, ``https_proxy``, ``HTTPS_PROXY``), if any.

    Raises:
        ProxyError: the variable is set but not a usable proxy URL.
    """
    env = os.environ if env is None else env
    for name in ("grpc_proxy", "https_proxy", "HTTPS_PROXY"):
        value = env.get(name, "").strip()
        if value:
            try:
                return Proxy.parse(value, source=name)
            except ProxyError as exc:
                raise ProxyError(f"environment variable {name}: {exc}") from exc
    return None


def no_proxy_from_env(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The ``no_proxy`` / ``NO_PROXY`` entries (host names, domain suffixes, IPs, CIDR blocks, ``*``)."""
    env = os.environ if env is None else env
    value = env.get("no_proxy") or env.get("NO_PROXY") or ""
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


def bypasses(host: str, port: int, no_proxy: tuple[str, ...]) -> bool:
    """True when ``host:port`` matches a ``no_proxy`` entry and is dialled directly, like curl decides."""
    host = host.strip("[]").lower().rstrip(".")
    for entry in no_proxy:
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        name = name.strip("[]").lstrip(".").rstrip(".")
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                return True
            continue
        except ValueError:
            pass
        if host == name or host.endswith("." + name):
            return True
    return False


def proxy_for(host: str, port: int, configured: Proxy | None, no_proxy: tuple[str, ...]) -> Proxy | None:
    """The proxy to reach ``host:port`` through, or None to dial directly."""
    if configured is None or bypasses(host, port, no_proxy):
        return None
    return configured


def grpc_proxy_options(proxy: Proxy | None) -> list[tuple[str, str | int]]:
    """Channel arguments that make gRPC take exactly this path (and ignore its own reading of the environment)."""
    if proxy is None:
        return [("grpc.enable_http_proxy", 0)]
    return [("grpc.http_proxy", proxy.grpc_url())]


@dataclass(frozen=True)
class ConnectAnswer:
    """What a proxy answered to ``CONNECT``."""

    status: int
    reason: str


async def open_tunnel(
    proxy: Proxy, host: str, port: int, *, timeout: float = PROBE_SECONDS
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, ConnectAnswer]:
    """Connects to ``proxy`` and asks it for a tunnel to ``host:port``; returns the streams and its answer.

    On a 200 answer the streams are the tunnel (the caller owns and closes them); on any other answer they are
    closed already.

    Raises:
        OSError: the proxy could not be reached (refused, unknown host, timeout).
    """
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(proxy.host, proxy.port)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        head = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: onlineconnect-agent\r\n"
        auth = proxy.authorization()
        if auth:
            head += f"Proxy-Authorization: {auth}\r\n"
        writer.write((head + "\r\n").encode("latin-1"))
        await writer.drain()
        try:
            status_line = (await reader.readline()).decode("latin-1").strip()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # the rest of the answer's head
        except BaseException:
            writer.close()
            raise
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        writer.close()
        return reader, writer, ConnectAnswer(0, f"not an HTTP answer: {status_line[:80]!r}")
    answer = ConnectAnswer(int(parts[1]), parts[2] if len(parts) > 2 else "")
    if answer.status != 200:
        writer.close()
    return reader, writer, answer


def describe_refusal(proxy: Proxy, host: str, port: int, answer: ConnectAnswer) -> str:
    """Names a proxy's non-200 answer to CONNECT, with what to change."""
    what = f"{answer.status} {answer.reason}".strip()
    # Squid and most proxies answer 407 to missing and wrong credentials alike; tinyproxy answers 401 to wrong ones.
    if answer.status in (401, 407):
        who = f"user {proxy.username!r} was rejected" if proxy.username else "no credentials were sent"
        return (
            f"proxy {proxy.address} answered {what}: proxy authentication failed ({who}; set the proxy user and "
            f"password in {proxy.source}; NTLM/Kerberos-only proxies need an exception for the gateway)"
        )
    return (
        f"proxy {proxy.address} refused CONNECT to {host}:{port}: {what} "
        "(ask the proxy's administrator to allow the gateway's host and port)"
    )


def describe_os_error(exc: BaseException) -> str:
    """A short, operator-readable name of a socket error."""
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "no answer (timeout: a firewall dropping the packets?)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return f"{type(exc).__name__}: {exc}"


async def explain(host: str, port: int, proxy: Proxy | None, *, timeout: float = PROBE_SECONDS) -> str | None:
    """Names why the gateway at ``host:port`` cannot be reached, or returns None when the path is open.

    With a proxy: whether the proxy answers and what it answers to ``CONNECT`` (407 names the credentials); without:
    whether a TCP connection to the gateway opens. The probe sends nothing to the gateway itself.
    """
    if proxy is not None:
        try:
            _r, writer, answer = await open_tunnel(proxy, host, port, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            return f"proxy {proxy.address} unreachable: {describe_os_error(exc)}"
        if answer.status == 200:
            writer.close()
            return None
        return describe_refusal(proxy, host, port, answer)
    try:
        async with asyncio.timeout(timeout):
            _r, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as exc:
        return f"gateway {host}:{port} unreachable: {describe_os_error(exc)}"
    writer.close()
    return None
