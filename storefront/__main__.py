"""``python -m onlineconnect.storefront``: run the reference storefront against a gateway.

    python -m onlineconnect.storefront --gateway 127.0.0.1:50051 --shop-key demo-shop-key --listen 127.0.0.1:8080

The shop key can come from the environment instead (``--shop-key env:OC_SHOP_KEY``), so it stays out of ``ps``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

import grpc
import structlog

from onlineconnect import logs

from . import ShopClient, make_server
from .server import proxy_networks

log = structlog.get_logger("storefront")


def _secret(value: str) -> str:
    """A literal value, or ``env:NAME`` for the value of an environment variable."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise SystemExit(f"--shop-key: environment variable {name} is not set")
        return os.environ[name]
    return value


def main(argv: list[str] | None = None) -> int:
    """Parses the options, serves until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m onlineconnect.storefront", description=__doc__.split("\n")[0])
    parser.add_argument("--gateway", default="127.0.0.1:50051", help="gateway address host:port")
    parser.add_argument("--shop-key", required=True, help="the shop's API key, or env:NAME")
    parser.add_argument("--listen", default="127.0.0.1:8080", help="HTTP address host:port")
    parser.add_argument(
        "--tls-ca",
        type=Path,
        help="CA bundle to verify the gateway's TLS certificate; without it "
        "the connection is plaintext (only for a gateway on loopback)",
    )
    parser.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="NETWORK",
        help="address or network (CIDR) of a reverse proxy in front of the storefront, whose X-Forwarded-For "
        "header names the visitor (repeatable); without it the socket's peer is the visitor",
    )
    parser.add_argument("--log-format", choices=["console", "json"], default="console")
    args = parser.parse_args(argv)
    try:
        trusted = proxy_networks(args.trusted_proxy)
    except ValueError as exc:
        parser.error(str(exc))
    logs.configure(fmt=args.log_format, role="storefront")
    creds = grpc.ssl_channel_credentials(args.tls_ca.read_bytes()) if args.tls_ca else None
    client = ShopClient(args.gateway, _secret(args.shop_key), credentials=creds)
    host, _, port = args.listen.rpartition(":")
    server = make_server(client, host or "127.0.0.1", int(port), trusted_proxies=trusted)
    # serve_forever runs in a thread so the main thread can wait for a signal and shut down cleanly.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="storefront-http", daemon=True)
    thread.start()
    log.info("storefront.listening", url=f"http://{host}:{server.server_address[1]}/", gateway=args.gateway)
    stop.wait()
    server.shutdown()
    server.server_close()
    client.close()
    log.info("storefront.stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
