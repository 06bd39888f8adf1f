"""What every benchmark script in ``bench/`` shares: the demo ERP, the real processes, RSS readings and results.

The scripts start the console scripts exactly as an operator does (``onlineconnect.testing.processes`` writes their
config
files),
read memory from ``/proc/<pid>/status`` and write ``bench/results/<name>-<time>.json`` plus ``<name>-latest.json``
so ``docs/performance.md`` can quote the latest run of each.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import resource
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

from onlineconnect.agent.erp.demo import create_demo_erp  # noqa: E402
from onlineconnect.testing.processes import (  # noqa: E402
    SHOP_KEY,
    Proc,
    free_port,
    start,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)

AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
ORDER = ("4711", "091782005")  # the product sheet's order in the demo ERP
SKU = "851888-XS-KI"  # the product sheet's polo shirt
POSTCODE = "68766"  # Hockenheim
MB = 1024 * 1024
# Read when a benchmark script starts (it imports this module first), before it loads the machine itself.
LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, object]:
    """Where the numbers were measured: Python, kernel, usable CPUs, memory, load average at start and end.

    The 1-minute load average at the start tells how busy the shared machine was before the run; at the end it
    includes the benchmark's own load.
    """
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "load_average_at_start": LOAD_AT_START,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def write_results(name: str, doc: dict[str, object], out: Path = RESULTS) -> Path:
    """Writes ``doc`` (with time and machine added) as ``<name>-<UTC time>.json`` and ``<name>-latest.json``."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    full = {"time": stamp, "machine": machine(), **doc}
    text = json.dumps(full, indent=2) + "\n"
    for file_name in (f"{name}-{stamp}.json", f"{name}-latest.json"):
        (out / file_name).write_text(text)
    return out / f"{name}-{stamp}.json"


def memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of ``pid`` in KiB, from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            values[key] = int(rest.split()[0])
    return values


def median_interval(values: list[float], confidence: float = 0.95) -> list[float] | None:
    """A distribution-free confidence interval of the median of ``values`` (order statistics: the interval from
    the k-th smallest to the k-th largest value, k the largest for which the binomial(n, 1/2) probability of
    falling outside stays under 1 - ``confidence``); None for fewer than 6 values, where no such k exists."""
    n = len(values)
    ordered = sorted(values)
    k = 0
    while k < n // 2 and 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n <= 1 - confidence:
        k += 1
    if k == 0:
        return None
    return [ordered[k - 1], ordered[n - k]]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> None:
    """Resets the kernel's peak-RSS mark (VmHWM) of ``pid`` to its current RSS, so a later VmHWM is this run's."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def raise_fd_limit() -> int:
    """Raises this process's open-file limit to the hard limit (children inherit it); returns the new limit.

    Every tunnel is a socket on both ends, so 10,000 tunnels need far more than the usual soft limit of 1,024.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def demo_erp(folder: Path, *, pdf_bytes: int = 0) -> Path:
    """Creates the demo ERP in ``folder`` (erp.db, archive/); returns ``folder``.

    Args:
        folder: Where to create it.
        pdf_bytes: If set, the sheet order's invoice points to a PDF of this size (for the streaming benchmark).
    """
    create_demo_erp(folder / "erp.db", folder / "archive")
    if pdf_bytes:
        big = folder / "archive" / "big.pdf"
        with big.open("wb") as fh:
            fh.write(b"%PDF-1.4\n")
            block = bytes(range(256)) * 4096
            while fh.tell() < pdf_bytes - len(block):
                fh.write(block)
            fh.write(b"\0" * (pdf_bytes - fh.tell() - 7))
            fh.write(b"\n%%EOF\n")
        con = sqlite3.connect(folder / "erp.db")
        con.execute("UPDATE documents SET pdf_path = 'big.pdf' WHERE order_no = ?", (ORDER[1],))
        con.commit()
        con.close()
    return folder


def lift_shop_limits(gateway_config: Path, *, in_flight: int = 128) -> Path:
    """Lifts the shop key's rate limit and in-flight caps in a gateway config written by
    ``onlineconnect.testing.processes``.

    The shipped defaults (200 calls/s per key, 48 of 64 calls in flight per key) protect a merchant's ERP from one
    shop; a benchmark that measures the relay's own capacity from one key would measure those limits instead, so
    throughput benchmarks lift them (and say so in their result). The limits have their own tests.
    """
    text = gateway_config.read_text()
    if text.count("[[shops]]\n") != 1:
        raise ValueError(f"{gateway_config}: expected exactly one [[shops]] table")
    text = text.replace(
        "[[shops]]\n",
        f"max_in_flight = {in_flight}\nmax_in_flight_per_shop = {in_flight}\n[[shops]]\nrate_limit = false\n",
    )
    gateway_config.write_text(text)
    return gateway_config


@dataclass
class Stack:
    """Gateway and agent processes (and optionally the direct baseline) on one demo ERP."""

    folder: Path
    erp: Path
    port: int
    gateway: Proc
    agent: Proc
    direct: Proc | None = None
    direct_port: int = 0
    gateway_config: Path = field(default_factory=Path)
    agent_config: Path = field(default_factory=Path)

    @property
    def address(self) -> str:
        """The gateway's address for shops."""
        return f"127.0.0.1:{self.port}"

    @property
    def direct_address(self) -> str:
        """The direct baseline's address."""
        return f"127.0.0.1:{self.direct_port}"

    def start_gateway(self) -> Proc:
        """Starts (again) the gateway process on the same port and config."""
        self.gateway = start("onlineconnect-gateway", ["--config", str(self.gateway_config)], self.folder)
        return self.gateway

    def start_agent(self) -> Proc:
        """Starts (again) the agent process with the same config."""
        self.agent = start("onlineconnect-agent", ["--config", str(self.agent_config)], self.folder)
        return self.agent


@contextlib.contextmanager
def relay_stack(folder: Path, erp: Path, *, direct: bool = False, agent_extra: str = "") -> Iterator[Stack]:
    """Runs gateway + agent (+ the direct baseline) as processes until the block ends; waits until serving.

    The agent gets the shipped reconnect default (``reconnect_max_seconds = 2``), not the test helper's shorter one.
    """
    port = free_port()
    gw_config = lift_shop_limits(write_gateway_config(folder, port))
    agent_config = write_agent_config(folder, port, erp, extra=agent_extra)
    agent_config.write_text(
        agent_config.read_text().replace("reconnect_max_seconds = 1.0", "reconnect_max_seconds = 2.0")
    )
    gateway = start("onlineconnect-gateway", ["--config", str(gw_config)], folder)
    agent = start("onlineconnect-agent", ["--config", str(agent_config)], folder)
    stack = Stack(folder, erp, port, gateway, agent, gateway_config=gw_config, agent_config=agent_config)
    if direct:
        stack.direct_port = free_port()
        stack.direct = start(
            "onlineconnect-agent",
            ["direct", "--config", str(agent_config), "--listen", stack.direct_address],
            folder,
        )
    try:
        wait_serving(stack.address)
        if direct:
            wait_port(stack.direct_port)
        yield stack
    finally:
        for proc in (stack.direct, stack.agent, stack.gateway):
            if proc is not None:
                with contextlib.suppress(Exception):
                    proc.stop(timeout=20)


def wait_port(port: int, timeout: float = 20) -> None:
    """Waits until something accepts TCP connections on 127.0.0.1:``port``."""
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def percentile(sorted_values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of an ascending list; NaN if empty."""
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, round(p / 100 * (len(sorted_values) - 1)))
    return sorted_values[i]
