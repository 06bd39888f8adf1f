"""Each benchmark script in bench/ runs end to end at a tiny size, so the scripts cannot rot between releases.

The scripts run as a user runs them (``python bench/<script>.py``) with their results written to a temporary
folder. Nothing here judges speed: the figures of a full run belong in docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert "machine" in doc and "time" in doc
    return doc


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


@pytest.mark.parametrize("kills", ["1"])
def test_chaos_counts_no_wrong_and_no_hanging_answer(tmp_path: Path, kills: str) -> None:
    """chaos kills gateway, agent and database under load and every request ends answered or with a clean error."""
    doc = run_script(
        "chaos", tmp_path, "--gateway-kills", kills, "--settle", "0.5", "--down", "0.3", "--db-outage", "0.3"
    )
    table = doc["table"]
    assert isinstance(table, list)
    total = table[-1]
    assert total["phase"] == "TOTAL"
    assert total["wrong"] == 0 and total["hanging"] == 0
    assert total["ok"] > 0
    faults = doc["faults"]
    assert isinstance(faults, list)
    assert [f["fault"] for f in faults] == [
        "gateway kill -9 #1",
        "agent kill -9",
        "database lock",
        "database chmod",
        "database move",
    ]
