"""The relay's one retry rule (gateway/retry.py), as every path applies it."""

from __future__ import annotations

from onlineconnect.gateway.retry import ATTEMPTS, may_retry


def test_a_read_is_asked_at_most_twice_within_the_deadline_and_never_after_a_part_reached_the_shop() -> None:
    """Once more after the first failure, not after the second; never without deadline left; never once a streamed
    answer has begun."""
    assert ATTEMPTS == 2
    assert may_retry(1, left=0.5)
    assert not may_retry(2, left=0.5)
    assert not may_retry(1, left=0.0)
    assert not may_retry(1, left=0.5, started=True)
