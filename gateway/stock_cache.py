"""The gateway's in-memory stock cache: fewer trips to the ERP for popular product pages, and a stale answer
when the agent is unreachable.

Off by default. Per tenant, a :class:`CachePolicy` says how long an answer counts as fresh (``ttl_seconds``),
whether an older one may stand in while the agent is unreachable (``serve_stale``, up to ``max_stale_seconds``)
and how many answers to keep (least recently used go first).

Only stock answers (``GetStoreStockResponse``, ``BatchGetStoreStockResponse``) are accepted: order data concerns
one customer and must always be read live, so :meth:`StockCache.put` refuses any other message type.

The key is the RPC name plus the deterministic serialization of the full request, so two requests share an entry
only if every field (SKUs, location, radius, limits, flags) is equal. Ages are measured on the gateway's own
monotonic clock from the moment the answer was stored; the answer's ``data_as_of`` (the agent's read time) is
kept unchanged so the shop can show how old the figures are.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from onlineconnect.errors import ConfigError
from onlineconnect.v1 import stock_pb2

StockRequest = stock_pb2.GetStoreStockRequest | stock_pb2.BatchGetStoreStockRequest
StockResponse = stock_pb2.GetStoreStockResponse | stock_pb2.BatchGetStoreStockResponse

_RESPONSE_TYPES = (stock_pb2.GetStoreStockResponse, stock_pb2.BatchGetStoreStockResponse)
_REQUEST_TYPES = (stock_pb2.GetStoreStockRequest, stock_pb2.BatchGetStoreStockRequest)


@dataclass(frozen=True)
class CachePolicy:
    """How one tenant's stock answers are cached.

    Attributes:
        ttl_seconds: An answer younger than this is served from the cache without asking the agent; 0 turns
            fresh hits off.
        serve_stale: While the agent is unreachable, serve an older answer (marked ``stale``).
        max_stale_seconds: Never serve an answer older than this, not even as stale.
        max_entries: Most answers kept for the tenant; the least recently used is dropped first.
    """

    ttl_seconds: float = 0
    serve_stale: bool = False
    max_stale_seconds: float = 3600
    max_entries: int = 10000

    def __post_init__(self) -> None:
        for key in ("ttl_seconds", "max_stale_seconds"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
        if isinstance(self.max_entries, bool) or not isinstance(self.max_entries, int) or self.max_entries < 1:
            raise ValueError(f"max_entries must be an integer >= 1, got {self.max_entries!r}")
        if not isinstance(self.serve_stale, bool):
            raise ValueError(f"serve_stale must be true or false, got {self.serve_stale!r}")

    @property
    def enabled(self) -> bool:
        """True if answers are stored at all (fresh hits or stale fallback)."""
        return self.ttl_seconds > 0 or (self.serve_stale and self.max_stale_seconds > 0)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str, *, prefix: str = "stock_cache") -> CachePolicy:
        """Builds a policy from a config table such as ``[stock_cache]``.

        Args:
            table: The parsed table.
            source: Config file path, for error messages.
            prefix: The table's dotted name, for error messages.

        Raises:
            ConfigError: naming the file, the key and what is expected.
        """
        known = {"ttl_seconds", "serve_stale", "max_stale_seconds", "max_entries"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {[f'{prefix}.{k}' for k in unknown]}; known: {sorted(known)}")
        try:
            return cls(**dict(table))
        except ValueError as exc:
            raise ConfigError(f"{source}: {prefix}.{exc}") from None


@dataclass
class _Entry:
    response: StockResponse
    stored_at: float


def cache_key(method: str, request: StockRequest) -> bytes:
    """The cache key of a stock request: RPC name and the request's deterministic serialization.

    Args:
        method: The RPC name, e.g. ``GetStoreStock``.
        request: The full request as the shop sent it.

    Raises:
        TypeError: ``request`` is not a stock request.
    """
    if not isinstance(request, _REQUEST_TYPES):
        raise TypeError(f"only stock requests are cacheable, not {type(request).__name__}")
    return method.encode() + b"\0" + request.SerializeToString(deterministic=True)


def _copy(response: StockResponse) -> StockResponse:
    if isinstance(response, stock_pb2.GetStoreStockResponse):
        single = stock_pb2.GetStoreStockResponse()
        single.CopyFrom(response)
        return single
    batch = stock_pb2.BatchGetStoreStockResponse()
    batch.CopyFrom(response)
    return batch


def _mark(response: StockResponse, *, stale: bool) -> StockResponse:
    """A copy of ``response`` flagged as served from the cache (the stored one stays untouched)."""
    out = _copy(response)
    if isinstance(out, stock_pb2.GetStoreStockResponse):
        out.from_cache, out.stale = True, stale
    else:
        for entry in out.entries:
            if entry.HasField("stock"):
                entry.stock.from_cache, entry.stock.stale = True, stale
    return out


class StockCache:
    """Per-tenant LRU cache of stock answers.

    Args:
        default_policy: Policy of tenants without their own (default: off).
        policies: Per-tenant policies.
        clock: Monotonic seconds; tests pass a fake.
    """

    def __init__(
        self,
        default_policy: CachePolicy | None = None,
        *,
        policies: Mapping[str, CachePolicy] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_policy = default_policy or CachePolicy()
        self._policies: dict[str, CachePolicy] = dict(policies or {})
        self._clock = clock
        self._entries: dict[str, OrderedDict[bytes, _Entry]] = {}
        # The gateway calls from its event loop, but a lock keeps the cache safe if a handler runs in a thread.
        self._lock = threading.Lock()
        self.hits = 0
        self.stale_hits = 0
        self.misses = 0

    def policy(self, tenant: str) -> CachePolicy:
        """The policy in force for ``tenant``."""
        return self._policies.get(tenant, self.default_policy)

    def set_policy(self, tenant: str, policy: CachePolicy) -> None:
        """Sets ``tenant``'s policy (e.g. on config reload); entries beyond the new size are dropped."""
        with self._lock:
            self._policies[tenant] = policy
            entries = self._entries.get(tenant)
            if entries is not None:
                if not policy.enabled:
                    del self._entries[tenant]
                else:
                    while len(entries) > policy.max_entries:
                        entries.popitem(last=False)

    def get(self, tenant: str, key: bytes) -> tuple[StockResponse, bool] | None:
        """A fresh answer (younger than the TTL) marked ``from_cache``, as ``(response, False)``; else None."""
        policy = self.policy(tenant)
        with self._lock:
            entry = self._lookup(tenant, key)
            if entry is None or self._clock() - entry.stored_at >= policy.ttl_seconds:
                self.misses += 1
                return None
            self.hits += 1
            return _mark(entry.response, stale=False), False

    def get_stale(self, tenant: str, key: bytes) -> tuple[StockResponse, bool] | None:
        """The answer to serve while the agent is unreachable, or None.

        Returns:
            ``(response, False)`` if the entry is still fresh, ``(response, True)`` (marked ``stale``) if the
            policy allows stale answers and the entry is at most ``max_stale_seconds`` old, else None.
        """
        policy = self.policy(tenant)
        with self._lock:
            entry = self._lookup(tenant, key)
            if entry is None:
                return None
            age = self._clock() - entry.stored_at
            if age < policy.ttl_seconds:
                self.hits += 1
                return _mark(entry.response, stale=False), False
            if policy.serve_stale and age <= policy.max_stale_seconds:
                self.stale_hits += 1
                return _mark(entry.response, stale=True), True
            return None

    def put(self, tenant: str, key: bytes, response: StockResponse) -> None:
        """Stores the agent's answer for ``key`` if ``tenant``'s policy caches at all.

        Raises:
            TypeError: ``response`` is not a stock answer (order data is never cached).
        """
        if not isinstance(response, _RESPONSE_TYPES):
            raise TypeError(f"only stock answers may be cached, not {type(response).__name__}")
        policy = self.policy(tenant)
        if not policy.enabled:
            return
        stored = _copy(response)  # the caller may go on to mutate its message
        with self._lock:
            entries = self._entries.setdefault(tenant, OrderedDict())
            entries[key] = _Entry(stored, self._clock())
            entries.move_to_end(key)
            while len(entries) > policy.max_entries:
                entries.popitem(last=False)

    def clear(self, tenant: str | None = None) -> None:
        """Drops the entries of ``tenant``, or of every tenant."""
        with self._lock:
            if tenant is None:
                self._entries.clear()
            else:
                self._entries.pop(tenant, None)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(e) for e in self._entries.values())

    def _lookup(self, tenant: str, key: bytes) -> _Entry | None:
        entries = self._entries.get(tenant)
        if entries is None:
            return None
        entry = entries.get(key)
        if entry is None:
            return None
        age = self._clock() - entry.stored_at
        policy = self.policy(tenant)
        if age > max(policy.ttl_seconds, policy.max_stale_seconds if policy.serve_stale else 0):
            # Too old to serve in any way: free the slot now rather than waiting for LRU eviction.
            del entries[key]
            return None
        entries.move_to_end(key)
        return entry
