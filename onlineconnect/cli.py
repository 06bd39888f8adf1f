"""``onlineconnect``: the admin command line.

onlineconnect demo [--config-dir deploy/demo]     # demo ERP + gateway + agent + storefront (:8080) in the foreground
onlineconnect keygen tenant-key|shop-key|agent-token
onlineconnect init-demo-erp --db var/demo/erp.db --archive var/demo/archive
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path


def keygen(kind: str) -> str:
    """Creates a secret and the lines to put in the configuration files."""
    if kind == "tenant-key":
        key = secrets.token_hex(16)
        return (
            f"128-bit tenant key: {key}\n"
            'gateway.toml:  [tenants.<name>] keys = { <id> = "env:OC_TENANT_KEY" }   (store the key in that variable)\n'
            'agent.toml:    key = "env:OC_TENANT_KEY"  key_id = <id>\n'
        )
    secret = secrets.token_urlsafe(32)
    digest = hashlib.sha256(secret.encode()).hexdigest()
    if kind == "shop-key":
        return (
            f"shop API key (give it to the shop, store nowhere else): {secret}\n"
            f'gateway.toml:  [[shops]] key_sha256 = "{digest}"\n'
        )
    return (
        f"agent token (put it in the agent's config or environment): {secret}\n"
        f'gateway.toml:  [[agents]] token_sha256 = "{digest}"\n'
    )


def _grpcurl_lines(address: str) -> str:
    auth = "-H 'authorization: Bearer demo-shop-key'"
    return "\n".join(
        [
            f"  grpcurl -plaintext {address} list",
            f"  grpcurl -plaintext {address} describe onlineconnect.v1.OrderService",
            f'  grpcurl -plaintext {auth} -d \'{{"customer_number":"4711"}}\' {address} onlineconnect.v1.OrderService/ListOrders',
            f'  grpcurl -plaintext {auth} -d \'{{"customer_number":"4711","order_number":"091782005"}}\' {address} onlineconnect.v1.OrderService/GetOrder',
            f'  grpcurl -plaintext {auth} -d \'{{"customer_number":"4711","order_number":"091782005"}}\' {address} onlineconnect.v1.OrderService/GetReorderItems',
            f'  grpcurl -plaintext {auth} -d \'{{"sku":"851888-XS-KI","location":{{"postcode":"68766","country":"DE"}}}}\' {address} onlineconnect.v1.StockService/GetStoreStock',
            f'  grpcurl -plaintext {auth} -d \'{{"skus":["851888-XS-KI","851888-M-MA"]}}\' {address} onlineconnect.v1.StockService/BatchGetStoreStock',
            f'  grpcurl -plaintext {auth} -H \'x-customer-ip: 203.0.113.7\' -d \'{{"order_number":"091782005","postcode":"68766"}}\' {address} onlineconnect.v1.OrderService/LookupGuestOrder',
            f'  grpcurl -plaintext {auth} -d \'{{"service":"onlineconnect.tenant.demo"}}\' {address} grpc.health.v1.Health/Check',
        ]
    )


def _curl_lines(http_address: str) -> str:
    auth = "-H 'authorization: Bearer demo-shop-key'"
    json_type = "-H 'content-type: application/json'"
    return "\n".join(
        [
            f'  curl -sS {auth} {json_type} -d \'{{"customer_number":"4711","order_number":"091782005"}}\' http://{http_address}/onlineconnect.v1.OrderService/GetOrder',
            f'  curl -sS -G {auth} -d encoding=json --data-urlencode \'message={{"sku":"851888-XS-KI"}}\' http://{http_address}/onlineconnect.v1.StockService/GetStoreStock',
            f"  curl -fsS -OJ {auth} http://{http_address}/v1/customers/4711/orders/091782005/invoices/D-1000001.pdf",
            f'  curl -sS {auth} {json_type} -H \'x-customer-ip: 203.0.113.7\' -d \'{{"order_number":"091782005","postcode":"68766"}}\' http://{http_address}/onlineconnect.v1.OrderService/LookupGuestOrder',
            f"  curl -sS http://{http_address}/openapi.json",
        ]
    )


def wait_tenant_serving(address: str, tenant: str, timeout: float, *, shop_key: str | None = None) -> bool:
    """Polls the gateway's health until ``tenant`` is SERVING (an agent connected); False after ``timeout``.

    A tenant's health is told only to that tenant's shops (or operators): pass one of its shop keys.
    """
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            try:
                r = stub.Check(
                    health_pb2.HealthCheckRequest(service=f"onlineconnect.tenant.{tenant}"),
                    metadata=(("authorization", f"Bearer {shop_key}"),) if shop_key else None,
                    timeout=1,
                )
                if r.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    return False


DEMO_SHOP_KEYS = {"demo": "demo-shop-key", "demo2": "demo2-shop-key"}  # public demo values, one shop per Mandant


def demo(config_dir: Path, *, reseed: bool, once: bool) -> int:
    """Creates the demo ERP if needed, runs gateway and agent until Ctrl-C (or until ready with ``once``)."""
    from sqlalchemy.engine import make_url

    from onlineconnect.agent.config import load_agent_config
    from onlineconnect.agent.erp.demo import create_demo_erp

    # The demo ERP goes where the demo agent's configuration looks for it, whatever the working directory: one
    # database per Mandant (the second gets its own customers and order numbers).
    agent_config = load_agent_config(config_dir / "agent.toml")
    tenants = agent_config.tenant_configs()
    for mandant, tenant in enumerate(tenants, start=1):
        db = Path(make_url(tenant.db_url or "").database or "")
        if reseed or not db.exists():
            print(f"creating the demo ERP of Mandant {tenant.tenant!r} in {db} …", flush=True)
            create_demo_erp(db, tenant.orders.archive_root, mandant=min(mandant, 2))
    bin_dir = Path(sys.executable).parent
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen([str(bin_dir / "onlineconnect-gateway"), "--config", str(config_dir / "gateway.toml")])
        )
        procs.append(
            subprocess.Popen([str(bin_dir / "onlineconnect-agent"), "--config", str(config_dir / "agent.toml")])
        )
        address = "127.0.0.1:50051"
        # The reference storefront: a shop that reaches the gateway only through the generated gRPC client.
        shop = ["--gateway", address, "--shop-key", "demo-shop-key", "--listen", "127.0.0.1:8080"]
        procs.append(subprocess.Popen([sys.executable, "-m", "onlineconnect.storefront", *shop]))
        for tenant, key in DEMO_SHOP_KEYS.items():
            if any(t.tenant == tenant for t in tenants) and not wait_tenant_serving(address, tenant, 30, shop_key=key):
                print("demo: gateway and agent did not come up within 30 s; see the log lines above", file=sys.stderr)
                return 1
        print(
            "\nOnline Connect demo is running: gateway on 127.0.0.1:50051, agent connected for the Mandanten 'demo'"
            " and 'demo2'.\nShop API keys (valid only in this demo): demo-shop-key (Mandant demo, customers 4711 to 4713),"
            " demo2-shop-key (Mandant demo2, customers 5711 to 5713, e.g. order 291782005). Try:\n\n"
            + _grpcurl_lines(address)
            + "\n\nThe same over HTTP/JSON (Connect protocol) on 127.0.0.1:8081:\n\n"
            + _curl_lines("127.0.0.1:8081")
            + "\n\nStorefront: http://127.0.0.1:8080/  (sign in as demo customer 4711, 4712 or 4713; ?lang=en for English)"
            + "\n\nPress Ctrl-C to stop.\n",
            flush=True,
        )
        if once:
            return 0
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("demo: a process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping the demo …", flush=True)
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onlineconnect", description="Online Connect administration.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run gateway + agent + storefront on the SQLite demo ERP in the foreground")
    d.add_argument("--config-dir", type=Path, default=Path("deploy/demo"))
    d.add_argument("--reseed", action="store_true", help="re-create the demo ERP even if it exists")
    d.add_argument("--once", action="store_true", help="exit once everything is up (for tests)")
    k = sub.add_parser("keygen", help="create a tenant key, shop API key or agent token")
    k.add_argument("kind", choices=["tenant-key", "shop-key", "agent-token"])
    i = sub.add_parser("init-demo-erp", help="create the SQLite demo ERP and its invoice archive")
    i.add_argument("--db", type=Path, default=Path("var/demo/erp.db"))
    i.add_argument("--archive", type=Path, default=Path("var/demo/archive"))
    args = parser.parse_args(argv)
    if args.command == "keygen":
        print(keygen(args.kind), end="")
        return 0
    if args.command == "init-demo-erp":
        from onlineconnect.agent.erp.demo import create_demo_erp

        create_demo_erp(args.db, args.archive)
        print(f"demo ERP written to {args.db}, invoices to {args.archive}")
        return 0
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return demo(args.config_dir, reseed=args.reseed, once=args.once)


if __name__ == "__main__":
    sys.exit(main())
