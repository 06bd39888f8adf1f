"""Tests of the gateway's stock cache, driven by a fake clock."""

from __future__ import annotations

import pytest

from onlineconnect.calls import CALLS
from onlineconnect.gateway.metrics import GatewayMetrics
from onlineconnect.gateway.registry import Registry
from onlineconnect.gateway.stock_cache import CachePolicy, StockCache, cache_key
from onlineconnect.v1 import orders_pb2, stock_pb2


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(sku: str = "851888-XS-KI", **fields: object) -> stock_pb2.GetStoreStockRequest:
    return stock_pb2.GetStoreStockRequest(sku=sku, **fields)  # type: ignore[arg-type]


def response(sku: str = "851888-XS-KI") -> stock_pb2.GetStoreStockResponse:
    resp = stock_pb2.GetStoreStockResponse(article=stock_pb2.Article(sku=sku))
    resp.stores.add(quantity_available=1, availability=stock_pb2.AVAILABILITY_LOW_STOCK, show_quantity=True)
    resp.data_as_of.FromSeconds(1_795_773_600)
    return resp


def cache(policy: CachePolicy, clock: FakeClock) -> StockCache:
    return StockCache(policies={"t1": policy}, clock=clock)


def test_off_by_default() -> None:
    """With the default policy nothing is stored and nothing is served."""
    c = StockCache(clock=FakeClock())
    key = cache_key("GetStoreStock", request())
    c.put("t1", key, response())
    assert len(c) == 0
    assert c.get("t1", key) is None and c.get_stale("t1", key) is None


def test_fresh_hit_then_expiry() -> None:
    """An answer is served from the cache within the TTL, marked from_cache, and missed after it."""
    clock = FakeClock()
    c = cache(CachePolicy(ttl_seconds=30), clock)
    key = cache_key("GetStoreStock", request())
    assert c.get("t1", key) is None
    c.put("t1", key, response())
    clock.now += 29
    hit = c.get("t1", key)
    assert hit is not None
    resp, stale = hit
    assert isinstance(resp, stock_pb2.GetStoreStockResponse)
    assert resp.from_cache and not resp.stale and not stale
    assert resp.data_as_of.seconds == 1_795_773_600
    assert resp.stores[0].quantity_available == 1
    clock.now += 2
    assert c.get("t1", key) is None
    assert (c.hits, c.misses) == (1, 2)


def test_served_copy_does_not_change_the_entry() -> None:
    """Changing a served answer or the stored original does not change what the cache holds."""
    clock = FakeClock()
    c = cache(CachePolicy(ttl_seconds=30), clock)
    key = cache_key("GetStoreStock", request())
    original = response()
    c.put("t1", key, original)
    original.stores[0].quantity_available = 99
    first = c.get("t1", key)
    assert first is not None
    first[0].stores[0].quantity_available = 42  # type: ignore[union-attr]
    second = c.get("t1", key)
    assert second is not None and second[0].stores[0].quantity_available == 1  # type: ignore[union-attr]


def test_stale_served_only_when_allowed_and_young_enough() -> None:
    """After the TTL, get_stale serves a stale-marked answer up to max_stale_seconds, and only if allowed."""
    clock = FakeClock()
    c = StockCache(
        policies={
            "t1": CachePolicy(ttl_seconds=10, serve_stale=True, max_stale_seconds=100),
            "t2": CachePolicy(ttl_seconds=10),
        },
        clock=clock,
    )
    key = cache_key("GetStoreStock", request())
    c.put("t1", key, response())
    c.put("t2", key, response())
    fresh = c.get_stale("t1", key)
    assert fresh is not None and fresh[1] is False
    clock.now += 50
    assert c.get("t1", key) is None
    stale = c.get_stale("t1", key)
    assert stale is not None and stale[1] is True
    assert stale[0].from_cache and stale[0].stale  # type: ignore[union-attr]
    assert c.get_stale("t2", key) is None
    clock.now += 51
    assert c.get_stale("t1", key) is None


def test_stale_only_policy_stores_without_fresh_hits() -> None:
    """With TTL 0 but serve_stale on, answers are kept for outages yet never served as fresh."""
    clock = FakeClock()
    c = cache(CachePolicy(ttl_seconds=0, serve_stale=True), clock)
    key = cache_key("GetStoreStock", request())
    c.put("t1", key, response())
    assert c.get("t1", key) is None
    got = c.get_stale("t1", key)
    assert got is not None and got[1] is True


def test_batch_entries_are_marked() -> None:
    """A cached batch answer marks every entry's stock as from_cache; error entries stay as they are."""
    clock = FakeClock()
    c = cache(CachePolicy(ttl_seconds=30), clock)
    req = stock_pb2.BatchGetStoreStockRequest(skus=["851888-XS-KI", "NOPE"])
    batch = stock_pb2.BatchGetStoreStockResponse()
    batch.entries.add(sku="851888-XS-KI").stock.CopyFrom(response())
    batch.entries.add(sku="NOPE", code=5, message="unknown sku 'NOPE'")
    key = cache_key("BatchGetStoreStock", req)
    c.put("t1", key, batch)
    got = c.get("t1", key)
    assert got is not None
    resp = got[0]
    assert isinstance(resp, stock_pb2.BatchGetStoreStockResponse)
    assert resp.entries[0].stock.from_cache
    assert not resp.entries[1].HasField("stock") and resp.entries[1].code == 5


def test_lru_eviction() -> None:
    """Beyond max_entries the least recently used answer is dropped; a read counts as use."""
    clock = FakeClock()
    c = cache(CachePolicy(ttl_seconds=60, max_entries=2), clock)
    k1, k2, k3 = (cache_key("GetStoreStock", request(s)) for s in ("A", "B", "C"))
    c.put("t1", k1, response("A"))
    c.put("t1", k2, response("B"))
    assert c.get("t1", k1) is not None
    c.put("t1", k3, response("C"))
    assert len(c) == 2
    assert c.get("t1", k2) is None
    assert c.get("t1", k1) is not None and c.get("t1", k3) is not None


def test_tenants_are_separate() -> None:
    """One tenant's answers are never served to another, and each tenant has its own policy."""
    clock = FakeClock()
    c = StockCache(CachePolicy(ttl_seconds=5), policies={"t1": CachePolicy(ttl_seconds=60)}, clock=clock)
    key = cache_key("GetStoreStock", request())
    c.put("t1", key, response())
    assert c.get("t2", key) is None
    c.put("t2", key, response())
    clock.now += 10
    assert c.get("t1", key) is not None
    assert c.get("t2", key) is None


def test_key_covers_the_whole_request() -> None:
    """Requests differing in any known field, or in the RPC, get different keys; equal requests the same key."""
    base = cache_key("GetStoreStock", request(location=stock_pb2.Location(postcode="68766", country="DE")))
    assert base == cache_key("GetStoreStock", request(location=stock_pb2.Location(postcode="68766", country="DE")))
    assert base != cache_key("GetStoreStock", request(location=stock_pb2.Location(postcode="68161", country="DE")))
    assert base != cache_key(
        "GetStoreStock", request(location=stock_pb2.Location(postcode="68766", country="DE"), max_stores=1)
    )
    assert cache_key("GetStoreStock", request()) != cache_key("BatchGetStoreStock", request())


def test_order_data_is_refused() -> None:
    """Order requests and answers cannot enter the cache."""
    c = StockCache(CachePolicy(ttl_seconds=60), clock=FakeClock())
    with pytest.raises(TypeError):
        c.put("t1", b"k", orders_pb2.GetOrderResponse())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cache_key("GetOrder", orders_pb2.GetOrderRequest())  # type: ignore[arg-type]


def test_policy_refuses_bad_values_naming_the_key() -> None:
    """A bad policy value raises ValueError naming the setting and what is expected."""
    assert CachePolicy(ttl_seconds=30).ttl_seconds == 30
    with pytest.raises(ValueError, match=r"ttl_seconds\n +Input should be greater than or equal to 0"):
        CachePolicy(ttl_seconds=-1)
    with pytest.raises(ValueError, match=r"max_stale_seconds\n +Input should be a finite number"):
        CachePolicy(max_stale_seconds=float("inf"))
    with pytest.raises(ValueError, match=r"max_entries\n +Input should be greater than or equal to 1"):
        CachePolicy(max_entries=0)
    with pytest.raises(ValueError, match=r"serve_stale\n +Input should be a valid boolean"):
        CachePolicy(serve_stale=1)  # type: ignore[arg-type]


def test_counters_are_exported_as_prometheus_metrics() -> None:
    """Hits, stale hits, misses, evictions, entries and bytes of the cache in force appear in /metrics."""
    clock = FakeClock()
    caches = [cache(CachePolicy(ttl_seconds=60, serve_stale=True, max_entries=1), clock)]
    metrics = GatewayMetrics(Registry(["t1"]), CALLS)
    metrics.watch_cache(lambda: caches[0])
    c = caches[0]
    a, b = cache_key("GetStoreStock", request("A")), cache_key("GetStoreStock", request("B"))
    assert c.get("t1", a) is None  # miss
    c.put("t1", a, response("A"))
    assert c.get("t1", a) is not None  # hit
    clock.now += 120
    assert c.get_stale("t1", a) is not None  # stale hit
    c.put("t1", b, response("B"))  # pushes A out (max_entries=1)

    def sample(name: str) -> float:
        value = metrics.registry.get_sample_value(name)
        assert value is not None, name
        return value

    assert sample("onlineconnect_gateway_stock_cache_hits_total") == 1
    assert sample("onlineconnect_gateway_stock_cache_stale_hits_total") == 1
    assert sample("onlineconnect_gateway_stock_cache_misses_total") == 1
    assert sample("onlineconnect_gateway_stock_cache_evictions_total") == 1
    assert sample("onlineconnect_gateway_stock_cache_entries") == 1
    assert sample("onlineconnect_gateway_stock_cache_bytes") == c.bytes_used() > 0
    assert b"onlineconnect_gateway_stock_cache_hits_total 1.0" in metrics.render()
    caches[0] = cache(CachePolicy(ttl_seconds=60), clock)  # a reload's new cache is the one read
    assert sample("onlineconnect_gateway_stock_cache_hits_total") == 0


def test_set_policy_shrinks_and_disables() -> None:
    """A new smaller policy drops the oldest entries; turning the cache off drops the tenant's entries."""
    clock = FakeClock()
    c = cache(CachePolicy(ttl_seconds=60), clock)
    for s in "ABC":
        c.put("t1", cache_key("GetStoreStock", request(s)), response(s))
    c.set_policy("t1", CachePolicy(ttl_seconds=60, max_entries=1))
    assert len(c) == 1 and c.get("t1", cache_key("GetStoreStock", request("C"))) is not None
    c.set_policy("t1", CachePolicy())
    assert len(c) == 0
