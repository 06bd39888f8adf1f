"""Per-tenant gRPC health needs credentials: nobody can list the relay's merchants or watch their ERP's uptime."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onlineconnect.errors import ConfigError
from onlineconnect.gateway.config import OperatorCredential, load_gateway_config
from onlineconnect.testing import AGENT_TOKEN, SHOP_KEY, RunningRelay, running_relay, sha
from onlineconnect.testing.fakes import FakeHandlers

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
OPERATOR_TOKEN = "test-operator-token"
DEMO, OTHER, NOBODY = "onlineconnect.tenant.demo", "onlineconnect.tenant.other", "onlineconnect.tenant.nobody"


def auth(secret: str | None) -> tuple[tuple[str, str], ...]:
    return () if secret is None else (("authorization", f"Bearer {secret}"),)


@pytest.fixture
async def relay() -> AsyncIterator[RunningRelay]:
    """A gateway serving tenants demo and other, with an operator token configured by a reload; no agent yet."""
    async with running_relay(FakeHandlers(), start_agent=False, extra_tenants={"other": bytes(16)}) as r:
        config = r.gateway.config
        operators = {sha(OPERATOR_TOKEN): OperatorCredential(name="monitoring", token_sha256=sha(OPERATOR_TOKEN))}
        r.gateway.apply_config(dataclasses.replace(config, operators=operators))
        yield r


async def check(relay: RunningRelay, service: str, secret: str | None) -> tuple[str, int | str]:
    """("ok", status) or ("error", "<code>: <details>") for one Check with ``secret`` as bearer."""
    stub = health_pb2_grpc.HealthStub(relay.shop_channel())
    try:
        resp = await stub.Check(health_pb2.HealthCheckRequest(service=service), metadata=auth(secret), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return "error", f"{exc.code().name}: {exc.details()}"
    return "ok", int(resp.status)


OUTSIDERS = [
    pytest.param(None, id="no-key"),
    pytest.param("wrong-key", id="unknown-key"),
    pytest.param(AGENT_TOKEN, id="agent-token"),
    pytest.param(f"{SHOP_KEY}-other", id="other-tenants-shop-key"),
]


@pytest.mark.parametrize("secret", OUTSIDERS)
async def test_outsiders_get_the_same_answer_for_real_and_unknown_tenants(
    relay: RunningRelay, secret: str | None
) -> None:
    """Without a key of the tenant, a real tenant (offline or online) answers exactly as an unknown one: NOT_FOUND."""
    unknown = await check(relay, NOBODY, secret)
    assert unknown[0] == "error" and unknown[1].startswith("NOT_FOUND")  # type: ignore[union-attr]
    assert await check(relay, DEMO, secret) == unknown
    await relay.start_agent()
    assert await check(relay, DEMO, secret) == unknown
    assert await check(relay, NOBODY, secret) == unknown


async def test_a_shop_key_sees_its_own_tenant_only(relay: RunningRelay) -> None:
    """A shop key reads its own tenant's status both ways, and gets NOT_FOUND for every other tenant."""
    assert await check(relay, DEMO, SHOP_KEY) == ("ok", NOT_SERVING)
    await relay.start_agent()
    assert await check(relay, DEMO, SHOP_KEY) == ("ok", SERVING)
    assert (
        await check(relay, OTHER, SHOP_KEY) == await check(relay, NOBODY, SHOP_KEY) == await check(relay, NOBODY, None)
    )
    assert await check(relay, OTHER, f"{SHOP_KEY}-other") == ("ok", NOT_SERVING)


async def test_an_operator_token_sees_every_tenant(relay: RunningRelay) -> None:
    """The operator token from ``[[operators]]`` reads every tenant's status; an unknown tenant stays NOT_FOUND."""
    await relay.start_agent()
    assert await check(relay, DEMO, OPERATOR_TOKEN) == ("ok", SERVING)
    assert await check(relay, OTHER, OPERATOR_TOKEN) == ("ok", NOT_SERVING)
    assert (await check(relay, NOBODY, OPERATOR_TOKEN))[1] == (await check(relay, NOBODY, None))[1]
    relay.gateway.apply_config(dataclasses.replace(relay.gateway.config, operators={}))  # token removed
    assert await check(relay, DEMO, OPERATOR_TOKEN) == await check(relay, NOBODY, None)


async def test_server_health_needs_no_credentials(relay: RunningRelay) -> None:
    """The server's own status ("") answers everybody: load balancers and probes send no key."""
    assert await check(relay, "", None) == ("ok", SERVING)
    assert await check(relay, "", "wrong-key") == ("ok", SERVING)


async def first_and_next(
    relay: RunningRelay, service: str, secret: str | None, change: asyncio.Event
) -> tuple[int, int | None]:
    """Watches ``service``: the first status, and the next one within 2 s after ``change`` is set (None if none)."""
    stub = health_pb2_grpc.HealthStub(relay.shop_channel())
    call = stub.Watch(health_pb2.HealthCheckRequest(service=service), metadata=auth(secret))
    first = int((await call.read()).status)
    await change.wait()
    try:
        async with asyncio.timeout(2):
            nxt = await call.read()
    except TimeoutError:
        return first, None
    finally:
        call.cancel()
    return first, int(nxt.status)


async def test_watch_follows_the_same_rule(relay: RunningRelay) -> None:
    """An outsider's Watch of a real tenant is SERVICE_UNKNOWN and silent, like one of an unknown tenant; the shop's
    own Watch sees the agent arrive."""
    change = asyncio.Event()
    watches = asyncio.gather(
        first_and_next(relay, DEMO, None, change),
        first_and_next(relay, NOBODY, None, change),
        first_and_next(relay, DEMO, f"{SHOP_KEY}-other", change),
        first_and_next(relay, DEMO, SHOP_KEY, change),
        first_and_next(relay, DEMO, OPERATOR_TOKEN, change),
    )
    await asyncio.sleep(0.3)
    await relay.start_agent()
    change.set()
    outsider, unknown, other_shop, own_shop, operator = await watches
    assert outsider == unknown == other_shop == (SERVICE_UNKNOWN, None)
    assert own_shop == operator == (NOT_SERVING, SERVING)


def gateway_file(tmp_path: Path, operators: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[server]\nlisten = "127.0.0.1:0"\ninsecure = true\n\n'
        '[tenants.demo]\nkeys = { 1 = "00112233445566778899aabbccddeeff" }\n\n' + operators
    )
    return path


def test_operators_table_is_parsed_and_checked(tmp_path: Path) -> None:
    """``[[operators]]`` holds a name and a token hash; a malformed hash is an error naming file and key, and
    ``--print-config`` shows the hash shortened."""
    digest = sha(OPERATOR_TOKEN)
    config = load_gateway_config(
        gateway_file(tmp_path, f'[[operators]]\nname = "monitoring"\ntoken_sha256 = "{digest}"\n')
    )
    assert config.operators == {digest: OperatorCredential(name="monitoring", token_sha256=digest)}
    assert config.printable()["operators"] == [{"name": "monitoring", "token_sha256": digest[:8] + "…"}]
    with pytest.raises(ConfigError, match=r"gateway\.toml.*operators\[0\]\.token_sha256"):
        load_gateway_config(gateway_file(tmp_path, '[[operators]]\nname = "m"\ntoken_sha256 = "abc"\n'))
    with pytest.raises(ConfigError, match=r"operators\[0\]\.tenants"):
        load_gateway_config(
            gateway_file(tmp_path, f'[[operators]]\nname = "m"\ntoken_sha256 = "{digest}"\ntenants = ["demo"]\n')
        )
