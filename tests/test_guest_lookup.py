"""Guest order lookup on the agent: matching after normalising, the reduced view, NOT_FOUND alike for every miss."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from test_relay_demo import make_handlers

from onlineconnect.agent.orders import GuestView, OrderQueries, OrderSettings
from onlineconnect.agent.orders.guest import email_key, name_key, postcode_key
from onlineconnect.agent.orders.testing import context, demo_queries
from onlineconnect.errors import InvalidArgument, NotFound, PermissionDenied
from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.v1 import common_pb2, orders_pb2, orders_pb2_grpc

SHEET = "091782005"
SHEET_POSTCODE = "68766"


@pytest.fixture(scope="module")
def queries(tmp_path_factory: pytest.TempPathFactory) -> OrderQueries:
    """The order queries on a fresh demo ERP with the default settings."""
    return demo_queries(tmp_path_factory.mktemp("guest"))


def lookup(q: OrderQueries, number: str, postcode: str, last_name: str = "", email: str = "") -> orders_pb2.Order:
    """Runs LookupGuestOrder on the agent's order code and returns the order."""
    req = orders_pb2.LookupGuestOrderRequest(order_number=number, postcode=postcode, last_name=last_name, email=email)
    return q.lookup_guest_order(req, context()).order


def miss(q: OrderQueries, number: str, postcode: str, last_name: str = "", email: str = "") -> str:
    """Runs a lookup that must fail with NOT_FOUND; returns the message."""
    with pytest.raises(NotFound) as info:
        lookup(q, number, postcode, last_name, email)
    return info.value.message


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("68 766", "68766"), ("sw1a-2aa", "SW1A 2AA"), (" 10178 ", "10178"), ("D-68766", "d68766")],
)
def test_postcodes_compare_without_spaces_hyphens_and_case(typed: str, stored: str) -> None:
    """Postcodes are compared without spaces and hyphens and with case folded."""
    assert postcode_key(typed) == postcode_key(stored)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("MUELLER", "Müller"), ("mueller", "Müller"), ("MÜLLER", "müller"), ("STRAUSS", "Strauß"), ("ÖZ", "oez")],
)
def test_last_names_fold_case_umlauts_and_sharp_s(typed: str, stored: str) -> None:
    """Last names are compared with case folded and umlauts and ß spelled out."""
    assert name_key(typed) == name_key(stored)


def test_different_names_and_emails_stay_different() -> None:
    """Folding does not make different names or addresses equal: Muller is not Müller, a@x is not b@x."""
    assert name_key("Muller") != name_key("Müller")
    assert email_key(" Erika.Mustermann@Example.DE ") == email_key("erika.mustermann@example.de")
    assert email_key("a@example.de") != email_key("b@example.de")


def test_sheet_order_found_with_its_postcode(queries: OrderQueries) -> None:
    """Order 091782005 is found with the postcode of Erika Mustermann's address in 68766 Hockenheim."""
    order = lookup(queries, SHEET, SHEET_POSTCODE)
    assert order.summary.order_number == SHEET
    assert order.summary.status == orders_pb2.ORDER_STATUS_DELIVERED
    assert [line.article_number for line in order.lines] == ["6392", "6393", "SY 1", "12009", "22030"]
    assert order.shipments[0].parcel_number == "056326500434"
    assert order.shipments[0].tracking_url.endswith("idc=056326500434")
    assert [e.code for e in order.history][-1] == "delivered"


@pytest.mark.parametrize(
    ("number", "postcode", "last_name", "email"),
    [
        (SHEET, "68 766", "", ""),
        (SHEET, "68766", "MUSTERMANN", ""),
        (SHEET, "68766", "mustermann", "ERIKA.Mustermann@example.DE"),
        ("091790117", "10178", "STRAUSS", ""),  # delivery address: Jürgen Strauß, Berlin
        ("091790117", "68766", "Mustermann", ""),  # the same order by its invoice address
        ("091770010", "sw1a 2aa", "mueller", ""),  # delivery address: Grete Müller, London
        ("091770010", "SW1A2AA", "MÜLLER", ""),
    ],
)
def test_normalised_pairs_find_the_order(
    queries: OrderQueries, number: str, postcode: str, last_name: str, email: str
) -> None:
    """Postcode of the invoice or the delivery address, name and e-mail in any spelling the rules fold."""
    assert lookup(queries, number, postcode, last_name, email).summary.order_number == number


@pytest.mark.parametrize(
    ("postcode", "last_name", "email"),
    [
        ("68767", "", ""),  # wrong postcode
        ("10178", "", ""),  # another order's delivery postcode
        ("68766", "Musterfrau", ""),  # wrong name
        ("68766", "Strauss", ""),  # the name of another order's address
        ("68766", "", "someone.else@example.de"),  # wrong e-mail (the ERP has one)
        ("10178", "Mustermann", ""),  # postcode of one address, name of another
    ],
)
def test_wrong_pair_answers_exactly_like_an_unknown_order(
    queries: OrderQueries, postcode: str, last_name: str, email: str
) -> None:
    """A wrong postcode, name or e-mail raises the very NotFound an unknown order number raises."""
    unknown = miss(queries, "000000001", SHEET_POSTCODE)
    assert miss(queries, SHEET, postcode, last_name, email) == unknown == "order not found"


def test_email_is_ignored_when_the_erp_has_none(tmp_path: Path) -> None:
    """A customer without an e-mail in the ERP is found whatever e-mail the shop sends along."""
    import sqlite3

    q = demo_queries(tmp_path)
    con = sqlite3.connect(tmp_path / "erp.db")
    con.execute("UPDATE customers SET email = NULL WHERE customer_no = '4711'")
    con.commit()
    con.close()
    assert lookup(q, SHEET, SHEET_POSTCODE, email="any@example.de").summary.order_number == SHEET


def test_guest_view_has_no_prices_documents_returns_or_reorder(queries: OrderQueries) -> None:
    """By default the guest view carries no amounts, documents, returns, reorder flags, names or addresses."""
    for number, postcode in ((SHEET, SHEET_POSTCODE), ("091770010", "80331"), ("091801244", "68766")):
        order = lookup(queries, number, postcode)
        assert not order.summary.HasField("total")
        assert not order.HasField("goods_total") and not order.HasField("shipping_total")
        assert not order.summary.has_invoice and not order.summary.reorderable
        assert not order.documents and not order.returns
        assert order.lines and all(
            not line.HasField("unit_price") and not line.HasField("line_total") and not line.reorderable
            for line in order.lines
        )
        text = str(order)
        for personal in ("Mustermann", "Erika", "Heidelberger", "Hockenheim", "68766", "Probe", "example.de"):
            assert personal not in text


def test_full_order_of_the_same_customer_has_what_the_guest_view_hides(queries: OrderQueries) -> None:
    """GetOrder still answers the signed-in customer with prices, documents and reorder flags."""
    full = queries.get_order(orders_pb2.GetOrderRequest(customer_number="4711", order_number=SHEET), context()).order
    assert full.summary.total.amount_minor == 11445 and full.documents and full.summary.reorderable


def test_guest_settings_are_read_from_the_orders_table(tmp_path: Path) -> None:
    """[orders.guest] flags are read with their defaults; an unknown key or a non-boolean names the key."""
    from onlineconnect.errors import ConfigError

    table = {"archive_root": str(tmp_path), "guest": {"show_prices": True, "require_last_name": True}}
    settings = OrderSettings.from_table(table, "agent.toml")
    assert settings.guest == GuestView(show_prices=True, require_last_name=True)
    assert OrderSettings.from_table({"archive_root": str(tmp_path)}, "agent.toml").guest == GuestView()
    with pytest.raises(ConfigError, match=r"orders\.guest\.show_names"):
        OrderSettings.from_table({"archive_root": str(tmp_path), "guest": {"show_names": True}}, "agent.toml")
    with pytest.raises(ConfigError, match=r"agent\.toml: orders\.guest\.enabled: expected true or false"):
        OrderSettings.from_table({"archive_root": str(tmp_path), "guest": {"enabled": "yes"}}, "agent.toml")


def test_expected_dates_lines_and_prices_follow_the_guest_settings(tmp_path: Path) -> None:
    """The merchant's [orders.guest] flags decide what the guest view shows, within the visibility settings."""
    base = OrderSettings(archive_root=tmp_path / "archive")
    q = demo_queries(tmp_path)
    # 091790117 has a backordered line with an expected date.
    default = lookup(q, "091790117", "68766")
    assert any(line.expected_delivery_date for line in default.lines)

    q.settings = base.model_copy(update={"guest": GuestView(show_expected_dates=False, show_prices=True)})
    order = lookup(q, "091790117", "68766")
    assert not any(line.expected_delivery_date for line in order.lines)
    assert order.summary.total.amount_minor > 0 and all(line.HasField("unit_price") for line in order.lines)
    assert not order.documents and not order.summary.reorderable

    q.settings = base.model_copy(
        update={"guest": GuestView(show_lines=False, show_shipments=False, show_status_history=False)}
    )
    order = lookup(q, "091790117", "68766")
    assert not order.lines and not order.shipments and not order.history
    assert order.summary.status == orders_pb2.ORDER_STATUS_PARTIALLY_DELIVERED

    q.settings = base.model_copy(update={"guest": GuestView(require_last_name=True)})
    with pytest.raises(InvalidArgument, match="last_name"):
        lookup(q, SHEET, SHEET_POSTCODE)
    assert lookup(q, SHEET, SHEET_POSTCODE, last_name="Mustermann").summary.order_number == SHEET

    q.settings = base.model_copy(update={"guest": GuestView(enabled=False)})
    with pytest.raises(PermissionDenied):
        lookup(q, SHEET, SHEET_POSTCODE)


@pytest.mark.parametrize(
    ("field", "request_kwargs"),
    [
        ("order_number", {"postcode": "68766"}),
        ("order_number", {"order_number": "x" * 33, "postcode": "68766"}),
        ("postcode", {"order_number": SHEET}),
        ("postcode", {"order_number": SHEET, "postcode": "68766; DROP"}),
        ("postcode", {"order_number": SHEET, "postcode": "1" * 17}),
        ("last_name", {"order_number": SHEET, "postcode": "68766", "last_name": "x" * 101}),
        ("email", {"order_number": SHEET, "postcode": "68766", "email": "no-at-sign"}),
    ],
)
def test_bad_fields_are_named(queries: OrderQueries, field: str, request_kwargs: dict[str, str]) -> None:
    """A missing or malformed field answers INVALID_ARGUMENT naming the field, never echoing the value."""
    with pytest.raises(InvalidArgument) as info:
        queries.lookup_guest_order(orders_pb2.LookupGuestOrderRequest(**request_kwargs), context())
    assert field in info.value.message
    assert "DROP" not in info.value.message


@pytest.fixture
async def relay(erp: Path) -> AsyncIterator[RunningRelay]:
    """Gateway + agent on the demo ERP."""
    handlers = make_handlers(erp)
    async with running_relay(handlers) as r:
        yield r
    handlers.close()


async def test_lookup_through_the_tunnel(relay: RunningRelay) -> None:
    """LookupGuestOrder answers over gRPC through gateway and tunnel, in the requested language."""
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    resp = await stub.LookupGuestOrder(
        orders_pb2.LookupGuestOrderRequest(
            order_number=SHEET, postcode="68 766", last_name="MUSTERMANN", language=common_pb2.LANGUAGE_EN
        ),
        metadata=relay.shop_auth,
        timeout=5,
    )
    assert resp.order.summary.order_number == SHEET
    assert resp.order.summary.status_label == "Delivered"
    assert not resp.order.summary.HasField("total") and not resp.order.documents


async def test_wrong_postcode_through_the_tunnel_is_not_found(relay: RunningRelay) -> None:
    """Over gRPC a wrong postcode and an unknown number both end NOT_FOUND "order not found"."""
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    details = []
    for number, postcode in ((SHEET, "12345"), ("000000002", SHEET_POSTCODE)):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.LookupGuestOrder(
                orders_pb2.LookupGuestOrderRequest(order_number=number, postcode=postcode),
                metadata=relay.shop_auth,
                timeout=5,
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        details.append(info.value.details())
    assert details[0] == details[1]


GUEST_SQL = (
    "SELECT o.order_no AS order_number, o.customer_no AS customer_number, a.postcode AS postcode, "
    "a.last_name AS last_name, NULL AS email FROM orders o JOIN order_addresses a ON a.order_no = o.order_no "
    "WHERE o.order_no = :order_number"
)


def test_guest_query_is_checked_like_every_mapped_query(erp: Path, tmp_path: Path) -> None:
    """orders_guest may use only :order_number, must return its columns, and is required of a full mapping."""
    from onlineconnect.agent.erp.db import SqlAlchemyDatabase, validate
    from onlineconnect.agent.erp.mapping import load_mapping
    from onlineconnect.errors import ConfigError

    path = tmp_path / "mapping.toml"
    path.write_text(f"[orders_guest]\nsql = '{GUEST_SQL} AND o.customer_no = :customer_number'\n")
    with pytest.raises(ConfigError, match=r"\[orders_guest\] uses parameters \[':customer_number'\]"):
        load_mapping(path)
    path.write_text(f"[orders_guest]\nsql = '{GUEST_SQL.replace('a.last_name AS last_name, ', '')}'\n")
    db = SqlAlchemyDatabase(f"sqlite:///{erp / 'erp.db'}", load_mapping(path))
    try:
        (problem,) = validate(db)
        assert problem.startswith(f"{path}: [orders_guest] lacks result columns ['last_name']")
    finally:
        db.close()
    path.write_text(f"[orders_guest]\nsql = '{GUEST_SQL}'\n")
    with pytest.raises(ConfigError, match="mapping lacks queries"):
        load_mapping(path, defaults=False)


def test_agent_refuses_to_start_with_a_broken_guest_query(erp: Path, tmp_path: Path) -> None:
    """The console script exits 2 naming the mapping file and [orders_guest] when its table does not exist."""
    import subprocess
    import sys

    mapping = tmp_path / "mapping.toml"
    mapping.write_text(f"[orders_guest]\nsql = '{GUEST_SQL.replace('order_addresses', 'anschriften')}'\n")
    config = tmp_path / "agent.toml"
    config.write_text(
        '[agent]\nid = "t"\ngateway = "127.0.0.1:9"\ninsecure = true\ntoken = "x"\ntenant = "demo"\n'
        'key = "57ea0dae8fa4ee3ebfc34523b42b3feb"\n'
        f'[database]\nurl = "sqlite:///{erp / "erp.db"}"\nmapping = "{mapping}"\n'
        f'[orders]\narchive_root = "{erp / "archive"}"\n'
    )
    agent = Path(sys.executable).parent / "onlineconnect-agent"
    proc = subprocess.run([str(agent), "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert str(mapping) in proc.stderr and "[orders_guest]" in proc.stderr and "anschriften" in proc.stderr


def test_alternative_schema_answers_guest_lookups_alike(erp: Path, tmp_path: Path) -> None:
    """On the German-style schema of tests/altschema, through its own orders_guest, the same pairs find the same
    reduced orders and the same misses are NOT_FOUND."""
    from altschema import MAPPING, build_alt_erp

    from onlineconnect.agent.erp.db import SqlAlchemyDatabase
    from onlineconnect.agent.erp.mapping import load_mapping

    build_alt_erp(erp / "erp.db", tmp_path / "alt.db")
    alt_db = SqlAlchemyDatabase(f"sqlite:///{tmp_path / 'alt.db'}", load_mapping(MAPPING, defaults=False))
    alt = OrderQueries(alt_db, OrderSettings(archive_root=erp / "archive"))
    demo = demo_queries(tmp_path / "demo")
    try:
        for number, postcode, last_name in (
            (SHEET, "68 766", "MUSTERMANN"),
            ("091790117", "10178", "Strauss"),
            ("091770010", "sw1a-2aa", "MÜLLER"),
        ):
            assert lookup(alt, number, postcode, last_name) == lookup(demo, number, postcode, last_name)
        assert miss(alt, SHEET, "12345") == miss(alt, "000000001", SHEET_POSTCODE) == "order not found"
    finally:
        alt_db.close()
