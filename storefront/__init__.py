"""The reference storefront: a small web shop that shows what Online Connect delivers.

It talks to the gateway only through the generated gRPC client (``onlineconnect.v1.*_pb2_grpc``), as a real shop
does: order history, order detail with tracking and invoice download, reorder, and in-store availability on the
product page. Start it with ``python -m onlineconnect.storefront --gateway HOST:PORT --shop-key KEY``.

Modules: :mod:`.client` (the gRPC calls, deadlines and error mapping — the part to copy), :mod:`.pages` (one
function per page), :mod:`.server` (HTTP plumbing), :mod:`.cookies` (signed session), :mod:`.catalogue` (the shop's
own articles), :mod:`.texts` (German and English words).
"""

from __future__ import annotations

from .client import DEADLINE, InquiryError, ShopClient
from .server import App, Network, Server

__all__ = ["DEADLINE", "App", "InquiryError", "Server", "ShopClient", "make_server"]


def make_server(
    client: ShopClient, host: str = "127.0.0.1", port: int = 8080, *, trusted_proxies: tuple[Network, ...] = ()
) -> Server:
    """A storefront HTTP server bound to ``host:port`` (0 for a free port), not yet serving; behind reverse proxies
    in ``trusted_proxies`` the visitor's address is read from ``X-Forwarded-For``."""
    from .pages import ROUTES

    return Server((host, port), App(client, ROUTES), trusted_proxies)
