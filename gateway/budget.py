"""The gateway's memory budget for answers on their way to shops.

An answer leaves the relay's hands only when the shop has read it. A shop that opens calls and never reads
(a zero HTTP/2 receive window) would otherwise make the gateway hold every answer it asked for, without limit.
Each door therefore *holds* an answer's bytes in this budget from the moment the answer is ready until the
write to the shop completed; new calls are refused with ``RESOURCE_EXHAUSTED`` while the calling key, or the
gateway as a whole, holds more than its share.

A write that does not complete by the call's deadline is given up: the door ends the call, but the transport
(gRPC core, the HTTP server) may keep the unsent bytes until the connection closes, which the connection's
maximum age guarantees. Such bytes stay booked as *abandoned* until then (:meth:`ByteBudget.abandon`), so the
budget never counts memory as free while a stalled connection may still hold it.
"""

from __future__ import annotations

import contextlib
import heapq
import time
from collections.abc import Callable, Iterator

from .ratelimit import RateLimited

Clock = Callable[[], float]


class ByteBudget:
    """Bytes held toward shops, in total and per shop key.

    Args:
        total: Bytes the whole gateway may hold; past it every new call is refused.
        per_key: Bytes one shop key may hold; past it that key's new calls are refused.
        clock: Monotonic seconds (tests pass a fake).
    """

    def __init__(self, *, total: int, per_key: int, clock: Clock = time.monotonic) -> None:
        self.total = total
        self.per_key = per_key
        self._clock = clock
        self.held = 0
        self._by_key: dict[str, int] = {}
        self._abandoned: list[tuple[float, str, int]] = []  # (release time, key, bytes), a heap

    def update(self, *, total: int, per_key: int) -> None:
        """Takes over reloaded limits; what is held stays held."""
        self.total, self.per_key = total, per_key

    def _expire(self) -> None:
        now = self._clock()
        while self._abandoned and self._abandoned[0][0] <= now:
            _, key, n = heapq.heappop(self._abandoned)
            self._release(key, n)

    def _release(self, key: str, n: int) -> None:
        self.held -= n
        left = self._by_key.get(key, 0) - n
        if left > 0:
            self._by_key[key] = left
        else:
            self._by_key.pop(key, None)

    def held_by(self, key: str) -> int:
        """Bytes ``key`` holds now (abandoned bytes included)."""
        self._expire()
        return self._by_key.get(key, 0)

    def admit(self, key: str, name: str) -> None:
        """Refuses a new call while ``key`` or the gateway holds more than allowed.

        Args:
            key: The shop key's hash.
            name: The key's configured name, for the message.

        Raises:
            RateLimited: a budget is exhausted (RESOURCE_EXHAUSTED with a retry hint).
        """
        self._expire()
        if self._by_key.get(key, 0) >= self.per_key:
            raise RateLimited(
                f"shop key {name!r} has {self._by_key[key] // 1024} KiB of answers it has not read "
                f"(limit {self.per_key // 1024} KiB); read the answers of earlier calls before starting new ones",
                1.0,
            )
        if self.held >= self.total:
            raise RateLimited("the gateway holds too many unread answers; retry shortly", 1.0)

    @contextlib.contextmanager
    def hold(self, key: str, n: int) -> Iterator[None]:
        """Books ``n`` bytes for ``key`` for the duration of the block (the write of one answer).

        An answer that would take the key or the gateway past its budget is refused (answers that arrived
        together after passing :meth:`admit` must not overshoot it); a key holding nothing may always write one.

        Raises:
            RateLimited: the answer does not fit.
        """
        self._expire()
        mine = self._by_key.get(key, 0)
        if mine and mine + n > self.per_key:
            raise RateLimited(
                f"shop key holds {mine // 1024} KiB of answers it has not read (limit {self.per_key // 1024} KiB); "
                "read the answers of earlier calls before starting new ones",
                1.0,
            )
        if self.held and self.held + n > self.total:
            raise RateLimited("the gateway holds too many unread answers; retry shortly", 1.0)
        self.held += n
        self._by_key[key] = self._by_key.get(key, 0) + n
        try:
            yield
        finally:
            self._release(key, n)

    def abandon(self, key: str, n: int, seconds: float) -> None:
        """Keeps ``n`` bytes of a given-up write booked for ``seconds`` more (until the connection surely closed)."""
        self.held += n
        self._by_key[key] = self._by_key.get(key, 0) + n
        heapq.heappush(self._abandoned, (self._clock() + seconds, key, n))
