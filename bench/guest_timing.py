"""Does the answer time of a guest order lookup tell a wrong postcode from an unknown order number?

Both must answer NOT_FOUND "order not found" after the same work: the agent runs its one lookup query
(``orders_guest``) in both cases and reads the order only on a match. This script measures the two kinds of miss,
interleaved in a shuffled order each round (so drift of the shared machine hits both alike), at two levels:

* **agent**: ``OrderQueries.lookup_guest_order`` in process on the demo ERP (the ERP work alone, most sensitive);
* **end to end**: LookupGuestOrder over gRPC through the real gateway and agent processes.

It prints the median (and 10th/90th percentile) of each, their difference, and a right pair for scale; the
gateway's guest limits are lifted for the run (otherwise the fifth miss would lock the order). Results go to
``bench/results/guest_timing-latest.json``.

    .venv/bin/python bench/guest_timing.py [--rounds 400]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from harness import AUTH, POSTCODE, demo_erp, lift_shop_limits, write_results

from onlineconnect.agent.orders.testing import context, demo_queries
from onlineconnect.errors import NotFound
from onlineconnect.testing.processes import free_port, start, wait_serving, write_agent_config, write_gateway_config
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

SHEET = "091782005"
KINDS = {
    "wrong postcode": (SHEET, "12345"),
    "unknown order": ("091999999", POSTCODE),
    "right pair": (SHEET, POSTCODE),
}
GUEST_LIMITS_LIFTED = "[guest_lookup]\nmax_failures = 1000\nshop_rate_limit = false\nip_rate_limit = false\n"


def summary(samples: list[float]) -> dict[str, float]:
    """Median and 10th/90th percentile in milliseconds."""
    deciles = statistics.quantiles(samples, n=10)
    return {
        "median_ms": round(statistics.median(samples) * 1000, 4),
        "p10_ms": round(deciles[0] * 1000, 4),
        "p90_ms": round(deciles[-1] * 1000, 4),
        "n": len(samples),
    }


def measure(rounds: int, ask: Callable[[str, str], str]) -> dict[str, dict[str, float]]:
    """Times ``ask(order_number, postcode)`` for each kind, interleaved; checks each answer's outcome."""
    times: dict[str, list[float]] = {k: [] for k in KINDS}
    rng = random.Random(17)
    order = list(KINDS)
    for i in range(rounds + 20):
        rng.shuffle(order)  # no kind always follows the (heavier) right pair
        for kind in order:
            number, postcode = KINDS[kind]
            t0 = time.perf_counter()
            outcome = ask(number, postcode)
            elapsed = time.perf_counter() - t0
            assert outcome == ("OK" if kind == "right pair" else "NOT_FOUND: order not found"), (kind, outcome)
            if i >= 20:  # warm-up rounds are not counted
                times[kind].append(elapsed)
    return {kind: summary(samples) for kind, samples in times.items()}


def agent_level(folder: Path, rounds: int) -> dict[str, dict[str, float]]:
    """The agent's order code in process on the demo ERP."""
    queries = demo_queries(folder)

    def ask(number: str, postcode: str) -> str:
        try:
            queries.lookup_guest_order(
                orders_pb2.LookupGuestOrderRequest(order_number=number, postcode=postcode), context()
            )
        except NotFound as exc:
            return f"NOT_FOUND: {exc.message}"
        return "OK"

    return measure(rounds, ask)


def end_to_end(folder: Path, rounds: int) -> dict[str, dict[str, float]]:
    """Through the gateway and agent processes over gRPC, the guest limits lifted."""
    erp = demo_erp(folder / "erp")
    port = free_port()
    gw_config = lift_shop_limits(write_gateway_config(folder, port))
    gw_config.write_text(gw_config.read_text() + GUEST_LIMITS_LIFTED)
    gateway = start("onlineconnect-gateway", ["--config", str(gw_config)], folder)
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(folder, port, erp))], folder)
    try:
        wait_serving(f"127.0.0.1:{port}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = orders_pb2_grpc.OrderServiceStub(channel)

            def ask(number: str, postcode: str) -> str:
                req = orders_pb2.LookupGuestOrderRequest(order_number=number, postcode=postcode)
                try:
                    stub.LookupGuestOrder(req, metadata=AUTH, timeout=10)
                except grpc.RpcError as exc:
                    return f"{exc.code().name}: {exc.details()}"
                return "OK"

            return measure(rounds, ask)
    finally:
        agent.stop()
        gateway.stop()


def main() -> None:
    """Runs both levels and prints the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400, help="measured lookups of each kind per level")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "agent": agent_level(Path(tmp) / "agent", args.rounds),
            "end_to_end": end_to_end(Path(tmp) / "e2e", args.rounds),
        }
    for level, kinds in results.items():
        wrong, unknown = kinds["wrong postcode"], kinds["unknown order"]
        print(f"{level}:")
        for kind, s in kinds.items():
            print(f"  {kind:<15} median {s['median_ms']:8.3f} ms   p10 {s['p10_ms']:8.3f}   p90 {s['p90_ms']:8.3f}")
        print(f"  wrong postcode - unknown order: {wrong['median_ms'] - unknown['median_ms']:+.3f} ms at the median")
    path = write_results("guest_timing", {"rounds": args.rounds, "results": results})
    print(f"written {path}")


if __name__ == "__main__":
    main()
