"""Per-call context handed from the tunnel to the ERP query code."""

from __future__ import annotations

import time
from dataclasses import dataclass

from onlineconnect.errors import DeadlineExceeded


@dataclass(frozen=True)
class CallContext:
    """Who asked, and until when the answer is useful.

    Attributes:
        tenant: The tenant (Mandant) the tunnel serves.
        shop: Name of the shop key that made the call (for the audit log).
        request_id: Request id shared by the gateway's and agent's log lines.
        deadline: ``time.monotonic()`` instant after which the caller has given up, or None for no deadline.
    """

    tenant: str
    shop: str = ""
    request_id: str = ""
    deadline: float | None = None

    def remaining(self) -> float | None:
        """Seconds left until the deadline (may be negative), or None without a deadline."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Raises DeadlineExceeded if the deadline has passed."""
        left = self.remaining()
        if left is not None and left <= 0:
            raise DeadlineExceeded("deadline exceeded while the agent was working")

    @classmethod
    def with_timeout(cls, tenant: str, seconds: float | None, *, shop: str = "", request_id: str = "") -> CallContext:
        """Builds a context whose deadline is ``seconds`` from now (None: no deadline)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        return cls(tenant=tenant, shop=shop, request_id=request_id, deadline=deadline)
