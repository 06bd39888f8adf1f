"""The gateway's in-memory stock cache: fewer trips to the ERP for popular product pages, and a stale answer
when the agent is unreachable.

Off by default. Per tenant, a :class:`CachePolicy` says how long an answer counts as fresh (``ttl_seconds``),
whether an older one may stand in while the agent is unreachable (``serve_stale``, up to ``max_stale_seconds``)
and how much to keep (``max_entries`` answers, ``max_bytes`` of them; least recently used go first). Across all
tenants the cache holds at most ``max_total_bytes`` (:class:`StockCache`); past that, the tenant holding the most
gives up its least recently used answer, so one busy or hostile shop cannot push every other tenant out.
Answers are stored serialized, so the byte count is what they really occupy (plus a fixed per-entry overhead).

Only stock answers (``GetStoreStockResponse``, ``BatchGetStoreStockResponse``) are accepted: order data concerns
one customer and must always be read live, so :meth:`StockCache.put` refuses any other message type.

The key (:func:`cache_key`) is the RPC name plus the request's *known* fields: unknown protobuf fields a shop
adds are dropped (otherwise every unknown-field variant of one request would be an entry of its own), and a
batch's repeated SKUs are dropped the way the agent drops them. Two requests share an entry only if the agent's
answer to them is the same. Ages are measured on the gateway's own monotonic clock from the moment the answer
was stored; the answer's ``data_as_of`` (the agent's read time) is kept unchanged so the shop can show how old
the figures are.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import Field

from onlineconnect.config import ConfigModel
from onlineconnect.v1 import stock_pb2

StockRequest = stock_pb2.GetStoreStockRequest | stock_pb2.BatchGetStoreStockRequest
StockResponse = stock_pb2.GetStoreStockResponse | stock_pb2.BatchGetStoreStockResponse

_RESPONSE_TYPES = (stock_pb2.GetStoreStockResponse, stock_pb2.BatchGetStoreStockResponse)
_REQUEST_TYPES = (stock_pb2.GetStoreStockRequest, stock_pb2.BatchGetStoreStockRequest)

MAX_BATCH_SKUS = 100  # the API's limit on BatchGetStoreStockRequest.skus (stock.proto); the agent refuses more
ENTRY_OVERHEAD = 256  # bytes counted per entry on top of key and answer: dict slot, LRU links, entry object
DEFAULT_MAX_BYTES = 32 * 1024 * 1024  # per tenant
DEFAULT_MAX_TOTAL_BYTES = 256 * 1024 * 1024  # all tenants of a gateway together


class CachePolicy(ConfigModel):
    """How one tenant's stock answers are cached; validated on construction (a ``ValueError`` names the field).

    Attributes:
        ttl_seconds: An answer younger than this is served from the cache without asking the agent; 0 turns
            fresh hits off.
        serve_stale: While the agent is unreachable, serve an older answer (marked ``stale``).
        max_stale_seconds: Never serve an answer older than this, not even as stale.
        max_entries: Most answers kept for the tenant; the least recently used is dropped first.
        max_bytes: Most bytes kept for the tenant (serialized answers, keys and :data:`ENTRY_OVERHEAD` per
            entry); the least recently used answers are dropped first, and an answer larger than this on its own
            is not stored.
    """

    ttl_seconds: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    serve_stale: bool = False
    max_stale_seconds: float = Field(default=3600.0, ge=0, allow_inf_nan=False)
    max_entries: int = Field(default=10000, ge=1)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024)

    @property
    def enabled(self) -> bool:
        """True if answers are stored at all (fresh hits or stale fallback)."""
        return self.ttl_seconds > 0 or (self.serve_stale and self.max_stale_seconds > 0)


@dataclass(slots=True)
class _Entry:
    kind: type[StockResponse]
    data: bytes  # the serialized answer: what it costs is what is counted
    stored_at: float
    size: int


def cache_key(method: str, request: StockRequest) -> bytes:
    """The cache key of a stock request: RPC name and the request's known fields, normalised.

    Unknown fields are discarded (also inside ``location``). In a batch, a SKU repeated later in ``skus`` is
    dropped, as the agent drops it ("duplicates are answered once"). The SKUs keep their order, and each keeps the
    index of its first occurrence, because the answer depends on both: its entries come in first-seen order, and
    an invalid SKU's entry names that index (``skus[2] is required``). Sorting them would make the gateway rewrite
    answers; a shop asks for the same list in the same order anyway, so it would gain little. A list longer than
    :data:`MAX_BATCH_SKUS` stays as sent: the agent refuses it whole, so it must never share a key with its
    de-duplicated form.

    Args:
        method: The RPC name, e.g. ``GetStoreStock``.
        request: The request as decoded from the shop's bytes (left unchanged).

    Raises:
        TypeError: ``request`` is not a stock request.
    """
    if not isinstance(request, _REQUEST_TYPES):
        raise TypeError(f"only stock requests are cacheable, not {type(request).__name__}")
    known = type(request).FromString(request.SerializeToString())
    known.DiscardUnknownFields()
    first_index = b""
    if isinstance(known, stock_pb2.BatchGetStoreStockRequest) and len(known.skus) <= MAX_BATCH_SKUS:
        first: dict[str, int] = {}
        for i, sku in enumerate(known.skus):
            first.setdefault(sku, i)
        del known.skus[:]
        known.skus.extend(first)
        first_index = ",".join(map(str, first.values())).encode()
    return method.encode() + b"\0" + known.SerializeToString(deterministic=True) + b"\0" + first_index


def _mark(entry: _Entry, *, stale: bool) -> StockResponse:
    """The stored answer, decoded afresh and flagged as served from the cache (the stored bytes stay as they are)."""
    out = entry.kind.FromString(entry.data)
    if isinstance(out, stock_pb2.GetStoreStockResponse):
        out.from_cache, out.stale = True, stale
    else:
        for item in out.entries:
            if item.HasField("stock"):
                item.stock.from_cache, item.stock.stale = True, stale
    return out


class StockCache:
    """Per-tenant LRU cache of stock answers, bounded in entries and bytes per tenant and in bytes overall.

    Args:
        default_policy: Policy of tenants without their own (default: off).
        policies: Per-tenant policies.
        max_total_bytes: Most bytes held for all tenants together.
        clock: Monotonic seconds; tests pass a fake.

    Only the gateway's event loop uses it (the relay's calls and the metrics endpoint both run there), so it takes
    no lock. The counters :attr:`hits`, :attr:`stale_hits`, :attr:`misses` and :attr:`evictions` are exported by
    :meth:`.metrics.GatewayMetrics.watch_cache`.
    """

    def __init__(
        self,
        default_policy: CachePolicy | None = None,
        *,
        policies: Mapping[str, CachePolicy] | None = None,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_total_bytes, bool) or not isinstance(max_total_bytes, int) or max_total_bytes < 1024:
            raise ValueError(f"max_total_bytes must be an integer >= 1024, got {max_total_bytes!r}")
        self.default_policy = default_policy or CachePolicy()
        self.max_total_bytes = max_total_bytes
        self._policies: dict[str, CachePolicy] = dict(policies or {})
        self._clock = clock
        self._entries: dict[str, OrderedDict[bytes, _Entry]] = {}
        self._bytes: dict[str, int] = {}  # per tenant
        self._total = 0
        self.hits = 0
        self.stale_hits = 0
        self.misses = 0
        self.evictions = 0

    def policy(self, tenant: str) -> CachePolicy:
        """The policy in force for ``tenant``."""
        return self._policies.get(tenant, self.default_policy)

    def set_policy(self, tenant: str, policy: CachePolicy) -> None:
        """Sets ``tenant``'s policy (e.g. on config reload); entries beyond the new bounds are dropped."""
        self._policies[tenant] = policy
        if tenant in self._entries:
            if not policy.enabled:
                self._drop_tenant(tenant)
            else:
                self._shrink(tenant, policy)

    def get(self, tenant: str, key: bytes) -> tuple[StockResponse, bool] | None:
        """A fresh answer (younger than the TTL) marked ``from_cache``, as ``(response, False)``; else None."""
        policy = self.policy(tenant)
        entry = self._lookup(tenant, key)
        if entry is None or self._clock() - entry.stored_at >= policy.ttl_seconds:
            self.misses += 1
            return None
        self.hits += 1
        return _mark(entry, stale=False), False

    def get_stale(self, tenant: str, key: bytes) -> tuple[StockResponse, bool] | None:
        """The answer to serve while the agent is unreachable, or None.

        Returns:
            ``(response, False)`` if the entry is still fresh, ``(response, True)`` (marked ``stale``) if the
            policy allows stale answers and the entry is at most ``max_stale_seconds`` old, else None.
        """
        policy = self.policy(tenant)
        entry = self._lookup(tenant, key)
        if entry is None:
            return None
        age = self._clock() - entry.stored_at
        if age < policy.ttl_seconds:
            self.hits += 1
            return _mark(entry, stale=False), False
        if policy.serve_stale and age <= policy.max_stale_seconds:
            self.stale_hits += 1
            return _mark(entry, stale=True), True
        return None

    def put(self, tenant: str, key: bytes, response: StockResponse) -> None:
        """Stores the agent's answer for ``key`` if ``tenant``'s policy caches at all and it fits.

        Raises:
            TypeError: ``response`` is not a stock answer (order data is never cached).
        """
        if not isinstance(response, _RESPONSE_TYPES):
            raise TypeError(f"only stock answers may be cached, not {type(response).__name__}")
        policy = self.policy(tenant)
        if not policy.enabled:
            return
        data = response.SerializeToString()  # a copy: the caller may go on to mutate its message
        size = len(key) + len(data) + ENTRY_OVERHEAD
        if key in self._entries.get(tenant, ()):
            self._remove(tenant, key)
        if size > min(policy.max_bytes, self.max_total_bytes):
            return  # would push out everything else and still not fit
        entries = self._entries.setdefault(tenant, OrderedDict())
        entries[key] = _Entry(type(response), data, self._clock(), size)
        self._bytes[tenant] = self._bytes.get(tenant, 0) + size
        self._total += size
        self._shrink(tenant, policy)
        while self._total > self.max_total_bytes:
            self._evict(max(self._bytes, key=self._bytes.__getitem__))

    def clear(self, tenant: str | None = None) -> None:
        """Drops the entries of ``tenant``, or of every tenant."""
        for t in [tenant] if tenant is not None else list(self._entries):
            self._drop_tenant(t)

    def bytes_used(self, tenant: str | None = None) -> int:
        """Bytes counted for ``tenant``'s entries, or for all of them (see :attr:`CachePolicy.max_bytes`)."""
        return self._total if tenant is None else self._bytes.get(tenant, 0)

    def __len__(self) -> int:
        return sum(len(e) for e in self._entries.values())

    # -- internals ------------------------------------------------------------------------------------------------

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
            self._remove(tenant, key)
            return None
        entries.move_to_end(key)
        return entry

    def _shrink(self, tenant: str, policy: CachePolicy) -> None:
        entries = self._entries[tenant]
        while entries and (len(entries) > policy.max_entries or self._bytes[tenant] > policy.max_bytes):
            self._evict(tenant)

    def _evict(self, tenant: str) -> None:
        """Drops ``tenant``'s least recently used entry."""
        key = next(iter(self._entries[tenant]))
        self._remove(tenant, key)
        self.evictions += 1

    def _remove(self, tenant: str, key: bytes) -> None:
        entries = self._entries[tenant]
        entry = entries.pop(key)
        self._bytes[tenant] -= entry.size
        self._total -= entry.size
        if not entries:
            self._drop_tenant(tenant)

    def _drop_tenant(self, tenant: str) -> None:
        self._entries.pop(tenant, None)
        self._total -= self._bytes.pop(tenant, 0)
