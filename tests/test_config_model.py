"""The typed configuration model: unknown keys and wrong types are named with their dotted path, dependent
defaults are filled in, secrets never show, and ``--print-config`` is the model itself."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import BaseModel, ValidationError

from onlineconnect.agent.config import AgentFile, parse_agent_config
from onlineconnect.agent.orders import OrderSettings
from onlineconnect.agent.stock import StockSettings
from onlineconnect.config import ConfigModel, known_keys, validate
from onlineconnect.errors import ConfigError
from onlineconnect.gateway.config import GatewayFile, parse_gateway_config
from onlineconnect.gateway.stock_cache import CachePolicy

KEY = "00112233445566778899aabbccddeeff"
TOKEN = "agent-token-0f3c9d"  # a value to look for in outputs
DB_PASSWORD = "db-pw-77aa"
PROXY_PASSWORD = "proxy-pw-31bb"
SHA = "a" * 64


def gateway(**tables: Any) -> dict[str, Any]:
    """A valid gateway document with one tenant, plus ``tables`` (merged into ``server`` for that key)."""
    server = {"listen": "127.0.0.1:1", "insecure": True, **tables.pop("server", {})}
    return {"server": server, "tenants": {"demo": {"keys": {"1": KEY}}}, **tables}


def agent(tmp_path: Path, **tables: Any) -> dict[str, Any]:
    """A valid one-tenant agent document, plus ``tables`` (merged into ``agent`` for that key)."""
    section = {"id": "a", "gateway": "127.0.0.1:50051", "insecure": True, "token": TOKEN, "tenant": "demo"}
    section["key"] = KEY
    return {
        "agent": {**section, **tables.pop("agent", {})},
        "database": {"url": f"postgresql+psycopg://reader:{DB_PASSWORD}@erp-db/erp"},
        "orders": {"archive_root": str(tmp_path)},
        **tables,
    }


def gateway_error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        parse_gateway_config(data, source="gateway.toml")
    return err.value.message


def agent_error(data: dict[str, Any], tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        parse_agent_config(data, source="agent.toml", base_dir=tmp_path)
    return err.value.message


@pytest.mark.parametrize(
    ("tables", "key"),
    [
        ({"server": {"lisen": "127.0.0.1:2"}}, "server.lisen"),
        ({"tenants": {"demo": {"keys": {"1": KEY}, "max_inflight": 3}}}, "tenants.demo.max_inflight"),
        (
            {
                "shops": [
                    {"name": "s", "tenant": "demo", "key_sha256": SHA, "rate_limit": {"per_second": 1, "brust": 2}}
                ]
            },
            "shops[0].rate_limit.brust",
        ),
        ({"guest_lookup": {"max_failure": 3}}, "guest_lookup.max_failure"),
        ({"logging": {"level": "info"}}, "logging"),
    ],
)
def test_gateway_unknown_key_is_refused_with_its_dotted_path(tables: dict[str, Any], key: str) -> None:
    """A key the model does not declare, at any depth, is an error naming the file and its dotted path."""
    message = gateway_error(gateway(**tables))
    assert message.startswith(f"gateway.toml: {key}: unknown key; check the spelling"), message


def test_unknown_key_message_lists_the_keys_of_that_table() -> None:
    """The message lists the keys the table does accept, read from the model."""
    message = gateway_error(gateway(metrics={"listen": "127.0.0.1:9", "port": 9}))
    assert message == "gateway.toml: metrics.port: unknown key; check the spelling (known: listen)"
    assert known_keys(GatewayFile, ("shops", 0, "rate_limit")) == ["burst", "per_second"]


def test_agent_unknown_keys_are_refused_in_nested_tables(tmp_path: Path) -> None:
    """Unknown keys in [agent], [[tenants]], a tenant's database and [orders.visibility] name their dotted path."""
    assert agent_error(agent(tmp_path, agent={"tokn": "x"}), tmp_path).startswith("agent.toml: agent.tokn: unknown key")
    tenants = [{"name": "t", "key": KEY, "database": {"urll": "sqlite://"}}]
    data = agent(tmp_path, tenants=tenants)
    del data["agent"]["tenant"], data["agent"]["key"]
    assert agent_error(data, tmp_path).startswith("agent.toml: tenants[0].database.urll: unknown key")
    data = agent(tmp_path)
    data["orders"]["visibility"] = {"show_price": False}
    assert agent_error(data, tmp_path).startswith("agent.toml: orders.visibility.show_price: unknown key")


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        (
            {"server": {"max_concurrent_streams": "100"}},
            "server.max_concurrent_streams: expected an integer, got a string",
        ),
        ({"server": {"insecure": 1}}, "server.insecure: expected true or false, got an integer"),
        (
            {"tenants": {"demo": {"keys": {"1": KEY}, "max_in_flight": True}}},
            "tenants.demo.max_in_flight: expected an integer, got a boolean",
        ),
        (
            {"server": {"default_deadline_seconds": "10"}},
            "server.default_deadline_seconds: expected a number, got a string",
        ),
        ({"shops": {"name": "s"}}, "shops: expected a list, got a table"),
        ({"cluster": "nats://127.0.0.1:4222"}, "cluster: expected a table, got a string"),
        ({"server": {"max_concurrent_streams": 0}}, "server.max_concurrent_streams: expected a value >= 1, got 0"),
        ({"log": {"level": "verbose"}}, 'log.level: expected "debug", "info", "warning" or "error", got \'verbose\''),
    ],
)
def test_wrong_type_names_the_key_and_the_expected_type(tables: dict[str, Any], expected: str) -> None:
    """A value of the wrong type (no coercion: "100" is no integer, true no number) names key and expected type."""
    assert gateway_error(gateway(**tables)) == f"gateway.toml: {expected}"


def test_missing_required_key_is_named() -> None:
    """A required key that is absent is named with its path."""
    assert gateway_error({"server": {"insecure": True, "listen": "127.0.0.1:1"}}) == (
        "gateway.toml: tenants: missing; a value is required"
    )
    shops = [{"tenant": "demo", "key_sha256": SHA}]
    assert gateway_error(gateway(shops=shops)) == "gateway.toml: shops[0].name: missing; a value is required"


def test_orders_stock_and_cache_policy_are_models_of_the_same_kind() -> None:
    """[orders], [stock] and the cache policy validate strictly on construction too, not only from a file."""
    for model in (OrderSettings, StockSettings, CachePolicy):
        assert issubclass(model, ConfigModel)
    with pytest.raises(ValidationError):
        StockSettings(max_stores=True)
    with pytest.raises(ValidationError):
        CachePolicy(ttl_seconds=-1)
    with pytest.raises(ConfigError, match=r"^<test>: stock\.max_stores: expected an integer, got a boolean$"):
        validate(StockSettings, {"max_stores": True}, source="<test>", prefix=("stock",))


def test_dependent_defaults_are_filled_in_and_printed() -> None:
    """Defaults computed from other keys are in the model, so --print-config shows what is in force."""
    config = parse_gateway_config(
        gateway(
            server={"max_deadline_seconds": 30.0, "max_unread_mib": 4},
            tenants={"demo": {"keys": {"1": KEY}, "max_in_flight": 8}},
            shops=[{"name": "s", "tenant": "demo", "key_sha256": SHA, "rate_limit": {"per_second": 7.4}}],
            http={"listen": "127.0.0.1:8081"},
        ),
        source="gateway.toml",
    )
    printed = config.printable()
    assert printed["server"]["max_connection_age_grace_seconds"] == 35.0  # type: ignore[index]
    assert printed["server"]["max_unread_mib_per_shop"] == 4  # type: ignore[index]
    assert printed["tenants"]["demo"]["max_in_flight_per_shop"] == 6  # type: ignore[index]
    assert printed["shops"][0]["rate_limit"] == {"per_second": 7.4, "burst": 7}  # type: ignore[index]
    assert printed["http"]["insecure"] is True  # type: ignore[index]
    assert config.max_connection_age_grace == 35.0 and config.shop_buffer_bytes_per_key == 4 * 1024 * 1024
    assert config.tenants["demo"].max_in_flight_per_shop == 6 and config.http and config.http.insecure


def _printed_keys_match_the_model(printed: object, annotation: object) -> None:
    """Every table of the printed configuration has exactly the keys its model declares (fields and computed)."""
    model = _model_of(annotation)
    if model is None:
        return
    if isinstance(printed, list):
        items = printed
    elif isinstance(printed, dict) and typing.get_origin(annotation) is dict:
        items = list(printed.values())
    else:
        items = [printed]
    for item in items:
        if isinstance(item, dict):  # a rotating key prints as its masked value alone
            assert set(item) == set(model.model_fields) | set(model.model_computed_fields), model.__name__
            for name, info in model.model_fields.items():
                _printed_keys_match_the_model(item[name], info.annotation)


def _model_of(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def test_print_config_is_derived_from_the_model(tmp_path: Path) -> None:
    """--print-config shows every key of the model and nothing else, for gateway and agent alike."""
    gw = parse_gateway_config(
        gateway(
            shops=[{"name": "s", "tenant": "demo", "key_sha256": SHA}],
            cluster={"nats": "nats://127.0.0.1:4222", "replica": "gw-1"},
            http={"listen": "127.0.0.1:8081"},
        ),
        source="gateway.toml",
    )
    _printed_keys_match_the_model(gw.printable(), GatewayFile)
    ag = parse_agent_config(agent(tmp_path), source="agent.toml", base_dir=tmp_path)
    _printed_keys_match_the_model(ag.printable(), AgentFile)
    assert ag.printable() == json.loads(json.dumps(ag.printable()))  # plain JSON values only


def test_secrets_never_show_in_print_config_repr_errors_or_logs(tmp_path: Path) -> None:
    """Token, envelope key, database and proxy passwords are masked in --print-config, repr, str and logs."""
    data = agent(tmp_path, agent={"proxy": "http://user@proxy.example:3128", "proxy_password": PROXY_PASSWORD})
    config = parse_agent_config(data, source="agent.toml", base_dir=tmp_path)
    assert config.token == TOKEN and config.proxy is not None and config.proxy.password == PROXY_PASSWORD
    printed = json.dumps(config.printable())
    assert config.file is not None
    with structlog.testing.capture_logs() as logs:
        structlog.get_logger().info("config.loaded", config=config, file=config.file)
    shown = [printed, repr(config), str(config), repr(config.file), str(config.file), repr(config.file.agent)]
    shown.append(json.dumps(logs, default=repr))
    for secret in (TOKEN, KEY, DB_PASSWORD, PROXY_PASSWORD):
        for text in shown:
            assert secret not in text
    assert json.loads(printed)["agent"]["token"] == "***"
    assert "reader:***@erp-db" in json.loads(printed)["database"]["url"]
    assert json.loads(printed)["agent"]["proxy_in_use"] == "http://user:***@proxy.example:3128 (from agent.proxy)"
    # An envelope key that is no key is refused without echoing it.
    bad = agent(tmp_path, agent={"key": "not-hex-" + PROXY_PASSWORD})
    assert PROXY_PASSWORD not in agent_error(bad, tmp_path)
    bad = agent(tmp_path, agent={"token": 123456789})
    assert agent_error(bad, tmp_path) == "agent.toml: agent.token: expected a string, got an integer"


def test_gateway_secrets_never_show(tmp_path: Path) -> None:
    """The tenant's envelope key and NATS credentials are masked in --print-config and repr."""
    config = parse_gateway_config(
        gateway(cluster={"nats": f"nats://gw:{DB_PASSWORD}@127.0.0.1:4222", "replica": "gw-1"}),
        source="gateway.toml",
    )
    assert config.cluster is not None and DB_PASSWORD in config.cluster.nats
    shown = [json.dumps(config.printable()), repr(config), repr(config.file), repr(config.tenants["demo"])]
    for text in shown:
        assert KEY not in text and DB_PASSWORD not in text


def test_the_model_is_immutable(tmp_path: Path) -> None:
    """A loaded configuration cannot be changed in place (a reload builds a new one)."""
    config = parse_gateway_config(gateway(), source="gateway.toml")
    assert config.file is not None
    with pytest.raises(ValidationError):
        config.file.server.listen = "0.0.0.0:1"  # type: ignore[misc]
