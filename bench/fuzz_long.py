"""The long hostile-input run behind ``make fuzz``: at least 100,000 cases against the envelope and the relay.

Envelope cases (most of the run, pure CPU): random bytes, flipped bits, truncation, wrong key id, foreign key,
replays and reorders fed to a gateway-side opener. A case fails if anything but ``DecodeError`` /
``EnvelopeError`` is raised, or if a frame opens to anything but what its honest sender sealed.

Relay cases: mutated and random request bytes, hostile strings, and well-formed requests mixing the ERP's
customers, orders, documents and SKUs (mostly another customer's) sent to every RPC of a real gateway with a real
agent on the demo ERP (identity serializers, so the bytes arrive as they are). A case fails on any status other
than OK, INVALID_ARGUMENT, NOT_FOUND or RESOURCE_EXHAUSTED, or on an OK answer that breaks an invariant of
``onlineconnect.testing.invariants`` (an order of another customer, a page or store list beyond its bound, stock for a
SKU never asked); the run fails if the tunnel was replaced.

    python bench/fuzz_long.py [--cases 100000] [--relay-share 0.2] [--seed N] [--mapping override.toml]

``--mapping`` gives the agent a mapping override (e.g. a merchant's), so the same run checks that mapping.
Prints one JSON summary and writes ``bench/results/fuzz-<time>.json`` and ``fuzz-latest.json``; exits 1 on any
failed case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError
from harness import RESULTS, write_results

from onlineconnect.calls import CALLS
from onlineconnect.envelope import SessionSecret, session_pair
from onlineconnect.errors import EnvelopeError
from onlineconnect.testing import SHOP_KEY, running_relay
from onlineconnect.testing.invariants import demo_handlers, plausible_request, violations
from onlineconnect.v1 import orders_pb2, stock_pb2, tunnel_pb2

CLEAR = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED"}
HOSTILE = ["' OR '1'='1", "4711'; DROP TABLE orders; --", "%", "_", "../../etc/passwd", "\x00", "😀" * 40, "A" * 4000]
SEEDS = [
    orders_pb2.ListOrdersRequest(customer_number="4711", page_size=5).SerializeToString(),
    orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005").SerializeToString(),
    orders_pb2.GetInvoicePdfRequest(
        customer_number="4711", order_number="091782005", document_id="x"
    ).SerializeToString(),
    orders_pb2.GetReorderItemsRequest(customer_number="4711", order_number="091782005").SerializeToString(),
    stock_pb2.GetStoreStockRequest(sku="851888-XS-KI").SerializeToString(),
    stock_pb2.BatchGetStoreStockRequest(skus=["851888-XS-KI", "851888-M-MA"]).SerializeToString(),
]


def mutate(rnd: random.Random, data: bytes) -> bytes:
    """One random mutation: flip bits, truncate, insert, duplicate a slice or replace with random bytes."""
    b = bytearray(data)
    kind = rnd.randrange(5)
    if kind == 0 and b:
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    elif kind == 1 and b:
        del b[rnd.randrange(len(b)) :]
    elif kind == 2:
        pos = rnd.randint(0, len(b))
        b[pos:pos] = os.urandom(rnd.randint(1, 16))
    elif kind == 3 and b:
        i = rnd.randrange(len(b))
        b[i:i] = b[i : i + rnd.randint(1, 32)]
    else:
        b = bytearray(os.urandom(rnd.randint(0, 512)))
    return bytes(b)


def envelope_cases(n: int, rnd: random.Random, outcome: Counter[str]) -> list[str]:
    """Runs ``n`` envelope cases; returns descriptions of failures."""
    failures: list[str] = []
    key = os.urandom(16)
    secret = SessionSecret(3, key, os.urandom(16), os.urandom(16))
    for i in range(n):
        sealer = session_pair(secret, agent=True)[0]
        opener = session_pair(secret, agent=False)[1]
        payloads = [os.urandom(rnd.randint(0, 300)) for _ in range(rnd.randint(1, 4))]
        frames = [sealer.seal(p).SerializeToString() for p in payloads]
        kind = rnd.randrange(4)
        if kind == 0:  # mutated frame first
            stream = [mutate(rnd, frames[0])]
        elif kind == 1:  # replay / reorder
            stream = [frames[j] for j in rnd.choices(range(len(frames)), k=len(frames) + 1)]
        elif kind == 2:  # wrong key id
            f = tunnel_pb2.SealedFrame.FromString(frames[0])
            f.key_id = rnd.choice([0, 1, 2, 4, 2**32 - 1])
            stream = [f.SerializeToString()]
        else:  # sealed with a foreign key
            other = SessionSecret(3, os.urandom(16), secret.agent_nonce, secret.gateway_nonce)
            stream = [session_pair(other, agent=True)[0].seal(payloads[0]).SerializeToString()]
        expected = 0
        for raw in stream:
            try:
                pt = opener.open(tunnel_pb2.SealedFrame.FromString(raw))
            except (DecodeError, EnvelopeError) as exc:
                outcome[f"envelope:{type(exc).__name__}"] += 1
                break
            except Exception as exc:  # a crash: exactly what this run is looking for
                failures.append(f"envelope case {i}: {type(exc).__name__}: {exc}")
                break
            if expected >= len(payloads) or pt != payloads[expected]:
                failures.append(f"envelope case {i}: a frame opened to something its sender never sealed")
                break
            expected += 1
            outcome["envelope:opened-honest"] += 1
    return failures


def relay_cases(n: int, rnd: random.Random, outcome: Counter[str], mapping: Path | None = None) -> list[str]:
    """Runs ``n`` relay cases against a real gateway + agent on the demo ERP; returns failures."""
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        handlers, truth = demo_handlers(folder, mapping=mapping)
        loop = asyncio.new_event_loop()
        ready: Future[Any] = Future()
        stop = threading.Event()

        async def main() -> None:
            async with running_relay(handlers) as relay:
                ready.set_result(relay)
                while not stop.is_set():
                    await asyncio.sleep(0.1)

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        relay = ready.result(timeout=60)
        session = relay.gateway.registry.tunnels("demo")[0].session_id
        auth = (("authorization", f"Bearer {SHOP_KEY}"),)
        try:
            with grpc.insecure_channel(relay.address) as ch:
                for i in range(n):
                    call = rnd.choice(CALLS)
                    seed = rnd.choice(SEEDS)
                    kind = rnd.random()
                    if kind < 0.2:
                        text = rnd.choice(HOSTILE).encode()
                        raw = seed + bytes([0x0A]) + bytes([min(len(text), 127)]) + text[:127]
                    elif kind < 0.5:
                        call, raw = plausible_request(rnd, truth)
                    else:
                        raw = mutate(rnd, seed)
                    answers: list[bytes] = []
                    try:
                        if call.streaming:
                            answers = list(ch.unary_stream(call.path)(raw, metadata=auth, timeout=10))
                        else:
                            answers = [ch.unary_unary(call.path)(raw, metadata=auth, timeout=10)]
                        code = "OK"
                    except grpc.RpcError as exc:
                        code = exc.code().name
                    outcome[f"relay:{code}"] += 1
                    if code not in CLEAR:
                        failures.append(f"relay case {i}: {call.method} got {code} for {raw[:40]!r}")
                    elif code == "OK":
                        broken = violations(call, raw, answers, truth)
                        outcome["relay:OK-checked"] += 1
                        if broken:
                            outcome["relay:OK-violating"] += 1
                            failures += [f"relay case {i}: {v}" for v in broken]
            tunnels = relay.gateway.registry.tunnels("demo")
            if [t.session_id for t in tunnels] != [session]:
                failures.append("the tunnel was replaced during the run")
        finally:
            stop.set()
            thread.join(30)
            handlers.close()
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--relay-share", type=float, default=0.2, help="fraction of cases sent through the relay")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--mapping", type=Path, help="a mapping override for the agent (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result files")
    args = parser.parse_args()
    # A hundred thousand refused requests would log as many lines; only warnings and errors are of interest here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rnd = random.Random(args.seed)
    relay_n = int(args.cases * args.relay_share)
    outcome: Counter[str] = Counter()
    started = time.perf_counter()
    failures = envelope_cases(args.cases - relay_n, rnd, outcome)
    env_seconds = time.perf_counter() - started
    failures += relay_cases(relay_n, rnd, outcome, args.mapping)
    summary: dict[str, object] = {
        "cases": args.cases,
        "envelope_cases": args.cases - relay_n,
        "relay_cases": relay_n,
        "seed": args.seed,
        "mapping": str(args.mapping) if args.mapping else "shipped",
        "seconds": round(time.perf_counter() - started, 1),
        "envelope_seconds": round(env_seconds, 1),
        "outcomes": dict(sorted(outcome.items())),
        "failed_cases": len(failures),
        "failures": failures[:50],
        "ok": not failures,
    }
    path = write_results("fuzz", summary, args.out)
    print(json.dumps(summary, indent=2))
    print(f"written: {path} and fuzz-latest.json")
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
