"""The relay's one retry rule, for every path a call can take (local tunnels, another replica over NATS).

Every shop RPC only reads, so asking the ERP twice is safe; but a retry must never repeat what the shop has already
received, and never outlive the caller's deadline. Hence: a call is sent at most :data:`ATTEMPTS` times, a new
attempt starts only while some of the deadline is left, and a stream is retried only before its first part reached
the shop. Which failures count (an agent that vanished, a replica that lost its tunnel) is decided where they
happen; whether to try again is decided here.
"""

from __future__ import annotations

ATTEMPTS = 2  # the first try and one retry


def may_retry(attempt: int, *, left: float, started: bool = False) -> bool:
    """True if a call whose ``attempt``-th try (counting from 1) just failed may be tried again.

    Args:
        attempt: The try that failed.
        left: Seconds of the caller's deadline still left.
        started: True once the shop has received part of a streamed answer.
    """
    return attempt < ATTEMPTS and left > 0 and not started
