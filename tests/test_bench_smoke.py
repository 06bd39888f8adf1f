"""Each benchmark script in bench/ runs end to end at a tiny size, so the scripts cannot rot between releases.

The scripts run as a user runs them (``python bench/<script>.py``) with their results written to a temporary
folder; every result file says how loaded the machine was and reports failures beside the figures. Nothing here
judges speed: the figures of a full run belong in docs/performance.md. ``bench/chaos.py`` runs in
tests/test_chaos_verdict.py, healthy and against broken systems.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_erp_backends import PG_SERVER, port_open

from onlineconnect.agent.erp.bigseed import seed_large
from onlineconnect.agent.erp.demo.export import scratch_database
from onlineconnect.testing import need_service
from onlineconnect.testing.cluster import NATS_BIN
from onlineconnect.testing.invariants import mapping_without_customer_filter

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_script(name: str, out: Path, *args: str, timeout: float = 120) -> dict[str, object]:
    """Runs ``bench/<name>.py`` with ``args``; returns the JSON it wrote as ``<result>-latest.json``."""
    proc = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    latest = [p for p in out.glob("*-latest.json")]
    assert len(latest) == 1, latest
    stamped = [p for p in out.glob("*.json") if p not in latest]
    assert len(stamped) == 1, "a timestamped copy is kept beside the latest result"
    doc: dict[str, object] = json.loads(latest[0].read_text())
    assert "time" in doc
    machine = doc["machine"]
    assert isinstance(machine, dict)
    assert len(machine["load_average_at_start"]) == 3 and len(machine["load_average_at_end"]) == 3
    return doc


def test_relay_bench_measures_direct_floor_and_relay(tmp_path: Path) -> None:
    """relay_bench measures the direct baseline, the bare-forwarder floor and the relay, and the project overhead."""
    args = ["--concurrency", "1", "--rpcs", "GetOrder", "--c1-rounds", "6", "--c1-seconds", "0.2"]
    doc = run_script("relay_bench", tmp_path, *args)
    results = doc["results"]
    assert isinstance(results, list) and len(results) == 1
    row = results[0]
    for mode in ("direct", "floor", "relay"):
        assert row[mode]["requests"] > 0 and row[mode]["errors"] == 0
        assert len(row[mode]["p50_ms_rounds"]) == 6
    # The overhead is the median of the rounds' own differences, with its 95 % interval (6 rounds: min to max).
    diffs = sorted(r - f for r, f in zip(row["relay"]["p50_ms_rounds"], row["floor"]["p50_ms_rounds"], strict=True))
    assert row["project_overhead_p50_ms"] == pytest.approx((diffs[2] + diffs[3]) / 2, abs=0.002)
    assert row["project_overhead_p50_ms_ci95"] == pytest.approx([diffs[0], diffs[-1]], abs=0.002)
    assert doc["failed_calls"] == 0


def test_wan_bench_reports_every_target_over_an_emulated_line(tmp_path: Path) -> None:
    """wan_bench judges the four WAN targets for a profile and reports each with its figures."""
    args = ["--profiles", "fibre", "--calls", "5", "--rounds", "1", "--mb", "1"]
    doc = run_script("wan_bench", tmp_path, *args, "--hol-seconds", "0.5", "--hol-rounds", "1", "--slow-seconds", "0.3")
    fibre = doc["profiles"]["fibre"]  # type: ignore[index]
    for target in ("round_trip", "no_serialisation", "pdf_target", "hol"):
        assert isinstance(fibre[target]["met"], bool)
    assert fibre["pdf"]["intact"] and fibre["round_trip"]["round_trips_per_call"] > 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_soak_two_minutes_keeps_gateway_and_agent_flat(tmp_path: Path) -> None:
    """A 2-minute soak (every RPC, both doors, cancels, expired deadlines, reconnects) samples both processes."""
    args = ["--minutes", "2", "--reconnect-every", "40", "--sample-seconds", "2"]
    doc = run_script("soak", tmp_path, *args, timeout=280)
    assert doc["reconnects"] == 2 and (tmp_path / "soak-latest.png").exists()
    outcomes = doc["load"]["outcomes"]  # type: ignore[index]
    for seen in ("grpc GetInvoicePdf: OK", "http GetOrder: http 200", "grpc cancel-unary: CANCELLED"):
        assert outcomes.get(seen, 0) > 0, outcomes
    assert any(k.startswith("grpc expired-deadline: DEADLINE_EXCEEDED") for k in outcomes)
    for role in ("gateway", "agent"):
        growth = doc["growth"][role]  # type: ignore[index]
        assert growth["at_rest"]["fds"]["after"] - growth["at_rest"]["fds"]["before"] <= 4, growth
        assert growth["at_rest"]["tasks"]["after"] - growth["at_rest"]["tasks"]["before"] <= 4, growth


def test_cluster_bench_measures_one_replica_and_the_nats_hop(tmp_path: Path) -> None:
    """cluster_bench measures one replica and a call through NATS to the other replica on a private nats-server."""
    need_service(Path(NATS_BIN).exists(), f"nats-server binary ({NATS_BIN}): apt-get install nats-server")
    args = ["--seconds", "0.3", "--warmup", "0.2", "--concurrency", "2", "--scenarios", "one-replica,via-nats"]
    doc = run_script("cluster_bench", tmp_path, *args)
    for scenario in ("one-replica", "via-nats"):
        result = doc[scenario]
        assert isinstance(result, dict)
        assert result["latency_concurrency_1"]["errors"] == 0 and result["throughput"]["calls_per_second"] > 0
    assert "nats_hop_extra_p50_ms" in doc and doc["failed_calls"] == 0


def test_fuzz_long_checks_every_ok_answer(tmp_path: Path) -> None:
    """fuzz_long runs envelope and relay cases and checks every OK relay answer against the invariants."""
    doc = run_script("fuzz_long", tmp_path, "--cases", "400", "--relay-share", "0.5", "--seed", "7")
    outcomes = doc["outcomes"]
    assert isinstance(outcomes, dict)
    assert outcomes["relay:OK-checked"] == outcomes["relay:OK"] > 0
    assert doc["ok"] is True and doc["failures"] == []


def test_fuzz_long_fails_on_a_mapping_without_the_customer_filter(tmp_path: Path) -> None:
    """Given a mapping whose order queries lost the customer filter, fuzz_long reports foreign orders, exit 1."""
    leak = mapping_without_customer_filter(tmp_path / "leak.toml")
    out = tmp_path / "out"
    args = ["--out", str(out), "--cases", "400", "--relay-share", "0.5", "--seed", "7", "--mapping", str(leak)]
    proc = subprocess.run(
        [sys.executable, str(BENCH / "fuzz_long.py"), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    doc = json.loads((out / "fuzz-latest.json").read_text())
    assert doc["ok"] is False and doc["outcomes"]["relay:OK-violating"] > 0
    assert any("asked by customer" in f for f in doc["failures"])


@pytest.fixture(scope="module")
def big_erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small run of the large-ERP generator in a scratch PostgreSQL database (the shared server)."""
    need_service(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    with scratch_database(PG_SERVER) as url:
        seed_large(url, customers=30, orders=200, archive=tmp_path_factory.mktemp("big") / "archive")
        yield url


def test_erp_scale_measures_demo_and_large_database(tmp_path: Path, big_erp: str) -> None:
    """erp_scale times GetOrder and ListOrders on the demo and on the generated database and writes both."""
    doc = run_script("erp_scale", tmp_path, "--big", big_erp, "--calls", "20")
    for label in ("demo", "large"):
        result = doc[label]
        assert isinstance(result, dict)
        assert result["calls"] == 20 and result["GetOrder"]["median_ms"] > 0 and result["ListOrders"]["p99_ms"] > 0
    assert doc["large"]["orders"] == 200 + 13  # type: ignore[index]


def test_stream_bench_downloads_the_invoice_both_ways(tmp_path: Path) -> None:
    """stream_bench downloads an intact invoice through the relay and directly and reports MB/s and RSS growth."""
    doc = run_script("stream_bench", tmp_path, "--mb", "1", "--repeat", "1")
    for way in ("direct", "relay"):
        result = doc[way]
        assert isinstance(result, dict)
        assert result["bytes"] == 1024 * 1024
        assert result["mb_per_s_best"] > 0
    relay = doc["relay"]
    assert isinstance(relay, dict)
    assert set(relay["peak_rss_growth_mb"]) == {"gateway", "agent"}
    assert set(relay["cpu_ms_per_mb_median"]) == {"gateway", "agent"}
    need_service(shutil.which("h2load") is not None, "h2load missing (apt-get install nghttp2-client)")
    for way in ("direct_h2load", "relay_h2load"):  # the C client: gRPC framing on top of the PDF's bytes
        result = doc[way]
        assert isinstance(result, dict) and result["client"] == "h2load"
        assert 1024 * 1024 < result["bytes"] < 1.01 * 1024 * 1024
        assert result["mb_per_s_best"] > 0


def test_batch_bench_times_batch_against_single_calls(tmp_path: Path) -> None:
    """batch_bench grows the demo catalogue to the asked SKU count and times batch, sequential and concurrent."""
    doc = run_script("batch_bench", tmp_path, "--skus", "40", "--rounds", "1")
    assert doc["skus"] == 40
    results = doc["results"]
    assert isinstance(results, dict)
    assert set(results) == {"batch", "sequential", "concurrent"}


def test_hol_bench_compares_the_flood_with_and_without_a_slow_query(tmp_path: Path) -> None:
    """hol_bench measures the fast flood alone and with slow queries in flight, and the slow ones do complete."""
    doc = run_script(
        "hol_bench", tmp_path, "--seconds", "0.5", "--rounds", "1", "--slow-seconds", "0.2", "--concurrency", "2"
    )
    for mode in ("alone", "with_slow"):
        result = doc[mode]
        assert isinstance(result, dict)
        assert result["requests"] > 0 and result["errors"] == 0
    assert isinstance(doc["slow_calls_completed"], int) and doc["slow_calls_completed"] >= 1


def test_scale_bench_reconnects_every_tunnel_after_a_gateway_kill(tmp_path: Path) -> None:
    """scale_bench connects its simulated agents, kills and restarts the gateway, and sees all of them back."""
    doc = run_script("scale_bench", tmp_path, "--tunnels", "20", "--per-process", "10", "--settle", "0.2")
    memory, restart = doc["memory"], doc["restart"]
    assert isinstance(memory, dict) and isinstance(restart, dict)
    assert memory["tunnels_up"] == 20
    assert restart["tunnels_back"] == 20
    assert restart["gateway_alive"] is True
    probe = restart["health_probe"]
    assert probe["probes"] > 0 and probe["deadline_ms"] == 1000
    if probe["failures"] < probe["probes"]:
        assert probe["worst_ms_including_failures"] >= probe["max_answered_ms"]
    assert restart["target_met"] == (restart["gateway_healthy"] and restart["tunnels_back"] == 20)


def test_http_bench_compares_the_json_door_with_the_grpc_door(tmp_path: Path) -> None:
    """http_bench measures both doors on the same calls, counts failed calls from the metrics and the download's
    memory; a target whose points were not measured is reported as such, never as met."""
    need_service(shutil.which("h2load") is not None, "h2load missing (apt-get install nghttp2-client)")
    doc = run_script(
        "http_bench",
        tmp_path,
        "--seconds",
        "0.3",
        "--c1-seconds",
        "0.3",
        "--concurrency",
        "1",
        "--rounds",
        "1",
        timeout=240,
    )
    points = doc["points"]
    assert isinstance(points, list) and {p["rpc"] for p in points} == {"GetOrder", "GetStoreStock"}
    for p in points:
        assert p["grpc"]["requests"] > 0 and p["json"]["requests"] > 0
    targets = doc["targets_met"]
    assert isinstance(targets, dict) and targets["json_throughput_c64_at_least_0.8x_grpc"] is None
    assert doc["download_20mb"]["bytes"] == 20 * 1024 * 1024  # type: ignore[index]


def test_bounds_bench_holds_unread_answers_to_the_budget(tmp_path: Path) -> None:
    """bounds_bench runs a small burst to zero-window shops with the budget on and opened wide; the budget refuses
    what does not fit and another tenant is served."""
    doc = run_script("bounds_bench", tmp_path, "--calls", "200", "--answer-kb", "100", timeout=240)
    bounded, wide = doc["runs"]  # type: ignore[misc]
    assert bounded["refused_resource_exhausted"] > 0 and wide["refused_resource_exhausted"] == 0
    assert bounded["other_tenant_served"] and wide["other_tenant_served"]
