"""Guest lookups in the audit trail and the logs of the real console scripts: order number, outcome and shop are
recorded; the postcode, the last name and the e-mail the customer typed appear in no log line and no audit line."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import httpx

from onlineconnect.agent import audit
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing.processes import (
    SHOP_KEY,
    free_port,
    start,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

AUTH = (("authorization", f"Bearer {SHOP_KEY}"), ("x-customer-ip", "203.0.113.5"))
SHEET = "091782005"
# What customers typed: the right pair and wrong ones. None of these may reach a log or the audit file.
TYPED = [
    ("68766", "Mustermann", "erika.mustermann@example.de"),
    ("68 766", "MUSTERMANN", ""),
    ("97318", "Zwetschgenbaum", ""),
    ("40789", "Fräulein-Ölmüller", "guess.who@example.org"),
]
SECRETS = (
    "68766",
    "68 766",
    "97318",
    "40789",
    "mustermann",
    "zwetschgenbaum",
    "lmüller",
    "lmueller",
    "erika.mustermann",
    "guess.who",
)


def debug_logs(text: str) -> str:
    """The config text with debug logging, so that every line the programs can write is checked."""
    return text.replace('[log]\nformat = "json"', '[log]\nformat = "json"\nlevel = "debug"')


def test_audit_records_guest_lookups_without_what_the_customer_typed(tmp_path: Path) -> None:
    """Found and not found lookups through gRPC and HTTP are audited with order number, outcome and shop; the
    audit chain verifies; no gateway or agent log line and no audit line contains a postcode, name or e-mail."""
    erp = tmp_path / "erp"
    create_demo_erp(erp / "erp.db", erp / "archive")
    port, http_port = free_port(), free_port()
    gw_config = write_gateway_config(tmp_path, port)
    gw_config.write_text(
        debug_logs(gw_config.read_text()) + f'[http]\nlisten = "127.0.0.1:{http_port}"\ninsecure = true\n'
    )
    audit_file = tmp_path / "audit" / "audit.jsonl"
    agent_config = write_agent_config(tmp_path, port, erp, extra=f'[audit]\nfile = "{audit_file}"\n')
    agent_config.write_text(debug_logs(agent_config.read_text()))
    gw = start("onlineconnect-gateway", ["--config", str(gw_config)], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(agent_config)], tmp_path)
    codes = []
    try:
        wait_serving(f"127.0.0.1:{port}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            stub = orders_pb2_grpc.OrderServiceStub(ch)
            for postcode, last_name, email in TYPED:
                req = orders_pb2.LookupGuestOrderRequest(
                    order_number=SHEET, postcode=postcode, last_name=last_name, email=email
                )
                try:
                    stub.LookupGuestOrder(req, metadata=AUTH, timeout=10)
                    codes.append("OK")
                except grpc.RpcError as exc:
                    codes.append(exc.code().name)
        r = httpx.post(
            f"http://127.0.0.1:{http_port}/onlineconnect.v1.OrderService/LookupGuestOrder",
            json={"order_number": SHEET, "postcode": "97318", "last_name": "Zwetschgenbaum"},
            headers=dict(AUTH),
            timeout=10,
        )
        codes.append("NOT_FOUND" if r.status_code == 404 else str(r.status_code))
    finally:
        assert agent.stop() == 0
        assert gw.stop() == 0
    assert codes == ["OK", "OK", "NOT_FOUND", "NOT_FOUND", "NOT_FOUND"]

    records = [json.loads(line) for line in audit_file.read_text().splitlines()]
    guest = [r for r in records if r["rpc"] == "LookupGuestOrder"]
    assert [(r["order"], r["code"], r["shop"]) for r in guest] == [(SHEET, c, "shop") for c in codes]
    assert audit.verify(audit_file).ok

    texts = {"gateway log": gw.log.read_text(), "agent log": agent.log.read_text(), "audit": audit_file.read_text()}
    assert "LookupGuestOrder" in texts["gateway log"] + texts["agent log"]  # the logs did see the calls
    for name, text in texts.items():
        for line in text.splitlines():
            lowered = line.casefold()
            leaked = [s for s in SECRETS if s in lowered]
            assert not leaked, f"{name} line shows {leaked}: {line}"
