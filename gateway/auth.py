"""Authentication of shops (API keys) and agents (tokens) from ``authorization: Bearer …`` metadata.

Only SHA-256 hashes of keys and tokens are stored; an incoming secret is hashed and looked up. The credential
tables are replaced as a whole on reload, so a revoked key stops working at the next call.

With mutual TLS an agent credential may also name the client certificate its agent must present
(``client_cert_name``): a stolen token alone is then not enough to open a tunnel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from onlineconnect.errors import PermissionDenied, Unauthenticated

from .config import AgentCredential, GatewayConfig, ShopCredential, hash_secret


def bearer(metadata: Sequence[Any] | None) -> str | None:
    """Extracts the bearer secret from gRPC invocation metadata, or None."""
    for item in metadata or ():
        if item.key == "authorization":
            value = item.value if isinstance(item.value, str) else item.value.decode("latin-1")
            scheme, _, secret = value.partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            return None
    return None


def certificate_names(auth_context: Mapping[str, Sequence[bytes]]) -> frozenset[str]:
    """The names (common name and subject alternative names) of the verified client certificate, if any.

    Args:
        auth_context: ``ServicerContext.auth_context()``; gRPC fills the x509 entries only for a client
            certificate that verified against ``server.client_ca``.
    """
    names: set[str] = set()
    for key in ("x509_common_name", "x509_subject_alternative_name"):
        for value in auth_context.get(key, ()):
            names.add(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return frozenset(names)


class Authenticator:
    """Looks up shop keys and agent tokens in the current configuration."""

    def __init__(self, config: GatewayConfig) -> None:
        self.update(config)

    def update(self, config: GatewayConfig) -> None:
        """Swaps in the credentials of a reloaded configuration."""
        self._shops = dict(config.shops)
        self._agents = dict(config.agents)

    def shop(self, metadata: Sequence[Any] | None, method: str) -> ShopCredential:
        """Returns the calling shop's credential.

        Raises:
            Unauthenticated: no or unknown key.
            PermissionDenied: the key may not call ``method``.
        """
        secret = bearer(metadata)
        if secret is None:
            raise Unauthenticated("missing shop API key: send metadata 'authorization: Bearer <key>'")
        cred = self._shops.get(hash_secret(secret))
        if cred is None:
            raise Unauthenticated("invalid shop API key")
        if not cred.allows(method):
            raise PermissionDenied(f"this shop key may not call {method}")
        return cred

    def agent(
        self, metadata: Sequence[Any] | None, tenant: str, cert_names: frozenset[str] = frozenset()
    ) -> AgentCredential:
        """Returns the connecting agent's credential if it may serve ``tenant``.

        Args:
            metadata: The call's invocation metadata (the token).
            tenant: The tenant the agent asks to serve.
            cert_names: Names of the agent's verified client certificate (see :func:`certificate_names`).

        Raises:
            Unauthenticated: no or unknown token, or no client certificate where the token requires one.
            PermissionDenied: the token does not cover ``tenant``, or the certificate names another agent.
        """
        secret = bearer(metadata)
        if secret is None:
            raise Unauthenticated("missing agent token: send metadata 'authorization: Bearer <token>'")
        cred = self._agents.get(hash_secret(secret))
        if cred is None:
            raise Unauthenticated("invalid agent token")
        if tenant not in cred.tenants:
            raise PermissionDenied(f"this agent token may not serve tenant {tenant!r}")
        if cred.client_cert_name is not None:
            if not cert_names:
                raise Unauthenticated("this agent token requires a TLS client certificate (mutual TLS)")
            if cred.client_cert_name not in cert_names:
                raise PermissionDenied("the TLS client certificate does not belong to this agent token")
        return cred

    def agent_valid(self, token_sha256: str, tenant: str) -> bool:
        """True if the token with this hash is still configured and still covers ``tenant`` (after a reload)."""
        cred = self._agents.get(token_sha256)
        return cred is not None and tenant in cred.tenants
