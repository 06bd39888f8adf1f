"""Stock-cache keys from the request's known, normalised fields, and the cache's byte bounds."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent.erp.db import Database
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.agent.stock.testing import DEMO_NOW, context, demo_database
from onlineconnect.errors import OnlineConnectError
from onlineconnect.gateway.stock_cache import (
    DEFAULT_MAX_BYTES,
    ENTRY_OVERHEAD,
    CachePolicy,
    StockCache,
    cache_key,
)
from onlineconnect.testing import running_relay
from onlineconnect.v1 import stock_pb2

SKU_A = "851888-XS-KI"
SKU_B = "620114-M-SW"
BATCH = "BatchGetStoreStock"


def with_unknown_field(message: bytes, number: int, value: int) -> bytes:
    """``message`` with an extra varint field ``number`` (unknown to the schema) appended."""
    tag = number << 3  # wire type 0: varint

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)

    return message + varint(tag) + varint(value)


def batch(*skus: str, **fields: object) -> stock_pb2.BatchGetStoreStockRequest:
    return stock_pb2.BatchGetStoreStockRequest(skus=skus, **fields)  # type: ignore[arg-type]


def answer(size: int, sku: str = SKU_A) -> stock_pb2.GetStoreStockResponse:
    """A stock answer whose serialization is about ``size`` bytes."""
    resp = stock_pb2.GetStoreStockResponse(article=stock_pb2.Article(sku=sku))
    resp.stores.add(store=stock_pb2.Store(store_id="F01", name="x" * max(0, size - 40)))
    return resp


def test_ten_thousand_unknown_field_variants_are_one_entry() -> None:
    """10,000 batch requests each carrying a different unknown field share one key and one cache entry."""
    cache = StockCache(CachePolicy(ttl_seconds=60))
    base = batch(SKU_A, SKU_B).SerializeToString()
    keys = set()
    for i in range(10_000):
        raw = with_unknown_field(base, 1000 + i % 5000, i)
        request = stock_pb2.BatchGetStoreStockRequest.FromString(raw)
        key = cache_key(BATCH, request)
        keys.add(key)
        if cache.get("t1", key) is None:
            cache.put("t1", key, stock_pb2.BatchGetStoreStockResponse())
    assert len(keys) == 1
    assert len(cache) == 1 and cache.hits == 9_999
    assert keys == {cache_key(BATCH, batch(SKU_A, SKU_B))}


def test_unknown_fields_inside_the_location_are_dropped_too() -> None:
    """An unknown field nested in ``location`` does not change the key; the caller's request is left as it was."""
    plain = stock_pb2.GetStoreStockRequest(sku=SKU_A, location=stock_pb2.Location(postcode="68766", country="DE"))
    location = with_unknown_field(plain.location.SerializeToString(), 77, 1)
    raw = stock_pb2.GetStoreStockRequest(sku=SKU_A).SerializeToString() + b"\x12" + bytes([len(location)]) + location
    request = stock_pb2.GetStoreStockRequest.FromString(raw)
    assert request.location.postcode == "68766" and request.SerializeToString() != plain.SerializeToString()
    assert cache_key("GetStoreStock", request) == cache_key("GetStoreStock", plain)
    assert request.SerializeToString() == raw  # cache_key works on a copy


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The demo ERP with the default mapping (read only)."""
    database = demo_database(tmp_path_factory.mktemp("erp"))
    yield database
    database.close()


def agent_answer(db: Database, request: stock_pb2.BatchGetStoreStockRequest) -> tuple[object, ...]:
    """What the real agent answers to ``request`` on the demo ERP: the answer's bytes, or the error."""
    queries = StockQueries(db, StockSettings(), clock=lambda: DEMO_NOW)
    try:
        resp = queries.batch_get_store_stock(request, context())
    except OnlineConnectError as exc:
        return ("error", type(exc).__name__, exc.message)
    return ("ok", resp.SerializeToString(deterministic=True))


def test_requests_share_a_key_only_when_the_agent_answers_them_alike(db: Database) -> None:
    """Equal keys always mean equal agent answers (order, repeated and invalid SKUs, the 100-SKU limit), and
    repeated SKUs and unknown fields do share a key."""
    variants = [
        batch(SKU_A, SKU_B),
        batch(SKU_A, SKU_B, SKU_A),  # a later repeat: answered once, same answer
        batch(SKU_A, SKU_B, SKU_B, SKU_A),
        batch(SKU_B, SKU_A),  # other order: entries in the other order
        batch(SKU_A, SKU_A, ""),  # the invalid SKU's entry names skus[2] …
        batch(SKU_A, ""),  # … here skus[1]
        batch(SKU_A, "", SKU_A),
        batch(*[SKU_A] * 100),  # at the limit: one entry
        batch(*[SKU_A] * 101),  # over it: refused whole, although it is one SKU repeated
        batch(SKU_A),
        batch(),
        batch(SKU_A, SKU_B, max_stores=2),
        batch(SKU_A, SKU_B, location=stock_pb2.Location(postcode="68766", country="DE")),
        stock_pb2.BatchGetStoreStockRequest.FromString(
            with_unknown_field(batch(SKU_B, SKU_A).SerializeToString(), 99, 7)
        ),
    ]
    answers = [agent_answer(db, v) for v in variants]
    keys = [cache_key(BATCH, v) for v in variants]
    for (k1, a1), (k2, a2) in itertools.combinations(zip(keys, answers, strict=True), 2):
        if k1 == k2:
            assert a1 == a2
    assert keys[0] == keys[1] == keys[2]
    assert keys[7] == keys[9] and keys[8] != keys[9]
    assert keys[13] == keys[3]
    assert answers[4] != answers[5] and answers[8][0] == "error" and answers[10][0] == "error"


def test_a_tenant_is_bounded_in_bytes_least_recently_used_first() -> None:
    """Past ``max_bytes`` the least recently used answers go; an answer larger than the bound is not stored."""
    cache = StockCache(policies={"t1": CachePolicy(ttl_seconds=60, max_bytes=64 * 1024)})
    keys = [cache_key("GetStoreStock", stock_pb2.GetStoreStockRequest(sku=SKU_A, max_stores=i)) for i in range(200)]
    for key in keys:
        cache.put("t1", key, answer(4000))
        assert cache.bytes_used("t1") <= 64 * 1024
    assert 10 <= len(cache) <= 16
    assert cache.get("t1", keys[-1]) is not None and cache.get("t1", keys[0]) is None
    kept = len(cache)
    cache.put("t1", keys[0], answer(70 * 1024))
    assert cache.get("t1", keys[0]) is None and len(cache) == kept
    per_entry = len(keys[-1]) + len(answer(4000).SerializeToString()) + ENTRY_OVERHEAD
    assert cache.bytes_used("t1") == kept * per_entry == cache.bytes_used()


def test_total_bytes_are_bounded_and_the_biggest_tenant_gives_way() -> None:
    """Past ``max_total_bytes`` the tenant holding the most loses its oldest answers; a small tenant keeps its own."""
    policy = CachePolicy(ttl_seconds=60, max_bytes=1024 * 1024)
    cache = StockCache(policy, max_total_bytes=128 * 1024)
    small = cache_key("GetStoreStock", stock_pb2.GetStoreStockRequest(sku=SKU_B))
    cache.put("small", small, answer(2000, SKU_B))
    for i in range(500):
        cache.put("big", cache_key("GetStoreStock", stock_pb2.GetStoreStockRequest(sku=f"S-{i}")), answer(4000))
        assert cache.bytes_used() <= 128 * 1024
    assert cache.get("small", small) is not None
    assert cache.bytes_used("big") + cache.bytes_used("small") == cache.bytes_used()
    cache.clear("big")
    assert cache.bytes_used() == cache.bytes_used("small") > 0


def test_the_issue_flood_stays_within_the_default_bound() -> None:
    """2,000 distinct valid requests with 300 KB answers (600 MB unbounded) keep one tenant within the default
    ``max_bytes``."""
    cache = StockCache(CachePolicy(ttl_seconds=60))
    big = answer(300_000)
    for i in range(2_000):
        key = cache_key(BATCH, batch(SKU_A, radius_km=1 + i, location=stock_pb2.Location(latitude=49, longitude=8)))
        cache.put("t1", key, stock_pb2.BatchGetStoreStockResponse(entries=[stock_pb2.BatchStoreStockEntry(stock=big)]))
    assert DEFAULT_MAX_BYTES - 400_000 < cache.bytes_used("t1") <= DEFAULT_MAX_BYTES
    assert cache.evictions == 2_000 - len(cache)


async def test_unknown_field_variants_through_the_gateway(tmp_path: Path) -> None:
    """Through a real gateway and agent, 300 batch calls differing only in unknown fields reach the ERP once and
    leave one cache entry."""
    erp = demo_database(tmp_path)
    handlers = Handlers(
        OrderQueries(erp, OrderSettings(archive_root=tmp_path / "archive")),
        StockQueries(erp, StockSettings()),
    )
    options = {"demo": {"stock_cache_ttl": 60.0}}
    async with running_relay(handlers, tenant_options=options) as relay:
        ch = relay.shop_channel()
        call = ch.unary_unary("/onlineconnect.v1.StockService/BatchGetStoreStock")
        base = batch(SKU_A, SKU_B).SerializeToString()
        for i in range(300):
            raw = await call(with_unknown_field(base, 500 + i, i), metadata=relay.shop_auth, timeout=5)
            resp = stock_pb2.BatchGetStoreStockResponse.FromString(raw)
            assert [e.sku for e in resp.entries] == [SKU_A, SKU_B]
            assert resp.entries[0].stock.from_cache == (i > 0)
        cache = relay.gateway.relay.cache
        assert len(cache) == 1 and cache.misses == 1 and cache.hits == 299
        exported = relay.gateway.metrics.registry.get_sample_value  # the same counters on the gateway's /metrics
        assert exported("onlineconnect_gateway_stock_cache_hits_total") == 299
        assert exported("onlineconnect_gateway_stock_cache_misses_total") == 1
        assert exported("onlineconnect_gateway_stock_cache_entries") == 1
        with pytest.raises(grpc.aio.AioRpcError):  # the real agent is there: the over-limit batch is refused
            await call(batch(*[SKU_A] * 101).SerializeToString(), metadata=relay.shop_auth, timeout=5)
    handlers.close()
