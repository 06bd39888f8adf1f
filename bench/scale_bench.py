"""Many idle agent tunnels on one gateway process: memory per tunnel and the reconnect after a gateway restart.

Writes a gateway config with ``--tunnels`` tenants (each its own merchant, one key each; one agent token covers
them all), starts the real ``onlineconnect-gateway`` and connects one simulated agent per tenant: real
:class:`~onlineconnect.agent.session.TunnelSession` objects driven by the real reconnecting
:class:`~onlineconnect.agent.connector.Connector` (jittered backoff, 0.5 s growing to the shipped 2 s), spread
over worker processes of ``--per-process`` tunnels each. By default every tunnel has its own gRPC channel (its own
TCP connection), as separate agents have; ``--per-channel`` shares channels to save client resources.

Measured:

* gateway RSS per tunnel: (VmRSS with all tunnels up - VmRSS before the first) / tunnels; target ≤ 100 KB;
* the time until 50 % / 99 % / 100 % of the tunnels are back after ``kill -9`` of the gateway and a restart on the
  same port, counted from the moment the new gateway accepts connections;
* whether the gateway stayed healthy meanwhile: the process lives, and its overall health check answers
  (probed every 250 ms with a 1 s deadline; failures and worst latency are reported).

    .venv/bin/python bench/scale_bench.py --tunnels 1000
    .venv/bin/python bench/scale_bench.py --tunnels 10000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import signal
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from harness import RESULTS, memory_kb, percentile, raise_fd_limit, wait_port, write_results

from onlineconnect.testing.processes import Proc, free_port, sha, start

KEY_HEX = "00112233445566778899aabbccddeeff"
TOKEN = "scale-agent-token"
TARGET_KB_PER_TUNNEL = 100.0
# gRPC shares one TCP connection among all channels of a process with the same target and options (its global
# subchannel pool). Separate agents have separate connections, so each simulated agent's channel gets its own.
OWN_CONNECTION = ("grpc.use_local_subchannel_pool", 1)


def tenant_name(i: int) -> str:
    """The i-th simulated merchant."""
    return f"m{i:05d}"


def write_config(folder: Path, port: int, tunnels: int, log_level: str) -> Path:
    """A gateway config with ``tunnels`` tenants and one agent token for all of them."""
    lines = [
        f'[server]\nlisten = "127.0.0.1:{port}"\ninsecure = true',
        f'[log]\nformat = "json"\nlevel = "{log_level}"',
    ]
    lines += [f'[tenants.{tenant_name(i)}]\nkeys = {{ 1 = "{KEY_HEX}" }}' for i in range(tunnels)]
    names = ", ".join(f'"{tenant_name(i)}"' for i in range(tunnels))
    lines.append(f'[[agents]]\nname = "scale"\ntoken_sha256 = "{sha(TOKEN)}"\ntenants = [{names}]')
    path = folder / "gateway.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


# --- the worker processes: simulated agents -------------------------------------------------------------------


class _IdleHandlers:
    """Handlers of an agent that is never asked anything (the tunnels stay idle)."""

    async def unary(self, call: Any, request: Any, ctx: Any) -> Any:
        from onlineconnect.errors import Unavailable

        raise Unavailable("idle benchmark agent")

    def stream(self, call: Any, request: Any, ctx: Any) -> Any:
        from onlineconnect.errors import Unavailable

        raise Unavailable("idle benchmark agent")

    def close(self) -> None:
        pass


class _SharedChannel:
    """A channel several connectors use; closing it is left to the worker, not to each session's end."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._channel = channel

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)

    async def close(self, grace: float | None = None) -> None:
        pass


async def _agents(address: str, first: int, count: int, per_channel: int, conn: Connection) -> None:
    from onlineconnect.agent.connector import CHANNEL_OPTIONS, Connector
    from onlineconnect.agent.session import TunnelSession

    handlers = _IdleHandlers()
    key = bytes.fromhex(KEY_HEX)
    up = [False] * count
    ready_at = [0.0] * count
    shared = [
        _SharedChannel(grpc.aio.insecure_channel(address, options=[*CHANNEL_OPTIONS, OWN_CONNECTION]))
        for _ in range(math.ceil(count / per_channel) if per_channel > 1 else 0)
    ]

    def on_state(i: int, state: str, _detail: str) -> None:
        if state == "connected":
            up[i], ready_at[i] = True, time.monotonic()
        elif state == "disconnected":
            up[i] = False

    def connector(i: int) -> Connector:
        tenant = tenant_name(first + i)

        def make() -> TunnelSession:
            return TunnelSession(
                tenant=tenant,
                agent_id=f"sim-{tenant}",
                token=TOKEN,
                key_id=1,
                key=key,
                handlers=handlers,  # type: ignore[arg-type]
            )

        c = Connector(address, make, credentials=None, on_state=lambda s, d: on_state(i, s, d))
        if shared:
            channel = shared[i // per_channel]
            c._channel = lambda: channel  # type: ignore[method-assign,assignment,return-value]
        else:
            options = c.options
            c.options = lambda: [*options(), OWN_CONNECTION]  # type: ignore[method-assign]
        return c

    connectors = [connector(i) for i in range(count)]
    tasks = [asyncio.create_task(c.run()) for c in connectors]
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        if command == "status":
            conn.send((sum(up), memory_kb(_pid())["VmRSS"]))
        elif command == "times":
            conn.send(list(ready_at))
        else:
            break
    for c in connectors:
        c.stop()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send("stopped")


def _pid() -> int:
    import os

    return os.getpid()


def worker(address: str, first: int, count: int, per_channel: int, conn: Connection) -> None:
    """Entry point of a worker process: ``count`` simulated agents for tenants ``first`` …"""
    from onlineconnect.logs import configure

    raise_fd_limit()
    configure(level="error")  # thousands of reconnecting agents would otherwise log a line each
    asyncio.run(_agents(address, first, count, per_channel, conn))


class Workers:
    """The parent's handle on the worker processes."""

    def __init__(self, address: str, tunnels: int, per_process: int, per_channel: int) -> None:
        ctx = mp.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs = []
        for first in range(0, tunnels, per_process):
            parent, child = ctx.Pipe()
            count = min(per_process, tunnels - first)
            p = ctx.Process(target=worker, args=(address, first, count, per_channel, child), daemon=True)
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)

    def status(self) -> tuple[int, int]:
        """(tunnels up, summed worker RSS in KiB)."""
        up = rss = 0
        for pipe in self.pipes:
            pipe.send("status")
        for pipe in self.pipes:
            n, kb = pipe.recv()
            up, rss = up + n, rss + kb
        return up, rss

    def ready_times(self) -> list[float]:
        """Per tunnel, the monotonic time its latest session became ready (0 if never)."""
        times: list[float] = []
        for pipe in self.pipes:
            pipe.send("times")
        for pipe in self.pipes:
            times += pipe.recv()
        return times

    def stop(self) -> None:
        """Stops every simulated agent and the processes."""
        for pipe in self.pipes:
            try:
                pipe.send("stop")
                pipe.recv()
            except (OSError, EOFError):
                pass
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.kill()


# --- the measurement ------------------------------------------------------------------------------------------


def wait_up(workers: Workers, want: int, timeout: float, *, label: str) -> tuple[int, float]:
    """Polls until ``want`` tunnels are up or ``timeout``; returns (tunnels up, seconds waited)."""
    t0 = time.monotonic()
    up = 0
    last_print = 0.0
    while time.monotonic() - t0 < timeout:
        up, _ = workers.status()
        if up >= want:
            break
        if time.monotonic() - last_print > 5:
            print(f"  {label}: {up}/{want} up after {time.monotonic() - t0:.1f} s", flush=True)
            last_print = time.monotonic()
        time.sleep(0.2)
    return up, time.monotonic() - t0


def wait_down(workers: Workers, timeout: float) -> None:
    """Polls until no tunnel is up (the agents noticed the gateway is gone) or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and workers.status()[0] > 0:
        time.sleep(0.05)


class HealthProbe(threading.Thread):
    """Probes the gateway's overall health every 250 ms (1 s deadline); keeps every probe, answered or failed.

    A failed probe (no answer within its deadline, or an error) counts with the time it took to fail, so the
    worst case reported is the worst any probe saw, not the worst of those that happened to answer.
    """

    DEADLINE_S = 1.0

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.latencies: list[float] = []
        self.failures: list[tuple[str, float]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            with grpc.insecure_channel(self.address) as ch:
                t0 = time.perf_counter()
                try:
                    health_pb2_grpc.HealthStub(ch).Check(
                        health_pb2.HealthCheckRequest(service=""), timeout=self.DEADLINE_S
                    )
                    self.latencies.append((time.perf_counter() - t0) * 1000)
                except grpc.RpcError as exc:
                    self.failures.append((exc.code().name, (time.perf_counter() - t0) * 1000))  # type: ignore[attr-defined]
            self.halt.wait(0.25)

    def summary(self) -> dict[str, object]:
        lat = sorted(self.latencies)
        every = sorted(lat + [ms for _, ms in self.failures])
        return {
            "probes": len(lat) + len(self.failures),
            "deadline_ms": self.DEADLINE_S * 1000,
            "failures": len(self.failures),
            "failure_codes": sorted({code for code, _ in self.failures}),
            "p50_ms": percentile(every, 50),
            "p50_answered_ms": percentile(lat, 50),
            "max_answered_ms": lat[-1] if lat else float("nan"),
            # A probe that failed at its deadline took at least that long: it is the worst case, not left out.
            "worst_ms_including_failures": every[-1] if every else float("nan"),
        }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime in clock ticks (100 Hz on Linux)


def run(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """Starts the gateway and the simulated agents, measures memory and a restart; returns the figures."""
    n = args.tunnels
    port = free_port()
    address = f"127.0.0.1:{port}"
    config = write_config(folder, port, n, args.log_level)
    gateway: Proc = start("onlineconnect-gateway", ["--config", str(config)], folder)
    wait_port(port, timeout=60)
    time.sleep(1.0)
    before_kb = memory_kb(gateway.popen.pid)["VmRSS"]
    cpu0 = cpu_seconds(gateway.popen.pid)
    print(f"gateway up with {n} tenants: {before_kb / 1024:.1f} MB RSS; connecting {n} simulated agents …", flush=True)
    workers = Workers(address, n, args.per_process, args.per_channel)
    result: dict[str, object] = {}
    try:
        up, took = wait_up(workers, n, args.timeout, label="first connect")
        result["first_connect"] = {
            "up": up,
            "seconds": round(took, 2),
            "gateway_cpu_s": cpu_seconds(gateway.popen.pid) - cpu0,
        }
        print(f"  {up}/{n} tunnels up after {took:.1f} s", flush=True)
        time.sleep(args.settle)
        after_kb = memory_kb(gateway.popen.pid)["VmRSS"]
        up, client_kb = workers.status()
        per_tunnel = (after_kb - before_kb) / max(up, 1)
        result["memory"] = {
            "gateway_rss_before_mb": round(before_kb / 1024, 1),
            "gateway_rss_after_mb": round(after_kb / 1024, 1),
            "tunnels_up": up,
            "gateway_kb_per_tunnel": round(per_tunnel, 1),
            "target_kb_per_tunnel": TARGET_KB_PER_TUNNEL,
            "target_met": per_tunnel <= TARGET_KB_PER_TUNNEL,
            "simulated_agents_kb_per_tunnel": round(client_kb / max(up, 1), 1),
        }
        print(
            f"  gateway RSS {before_kb / 1024:.1f} → {after_kb / 1024:.1f} MB: {per_tunnel:.1f} KB per tunnel",
            flush=True,
        )

        print("kill -9 gateway, start it again …", flush=True)
        killed = time.monotonic()
        gateway.stop(signal.SIGKILL)
        # Start again once every simulated agent noticed, so none counts as "back" on a tunnel that is gone.
        wait_down(workers, timeout=60)
        gateway = start("onlineconnect-gateway", ["--config", str(config)], folder)
        wait_port(port, timeout=60)
        listening = time.monotonic()
        cpu0 = cpu_seconds(gateway.popen.pid)
        probe = HealthProbe(address)
        probe.start()
        up, took = wait_up(workers, n, args.timeout, label="reconnect")
        probe.halt.set()
        probe.join()
        times = sorted(t - listening for t in workers.ready_times() if t > killed)
        back = len(times)
        alive = gateway.popen.poll() is None
        health = probe.summary()
        result["restart"] = {
            "gateway_start_s": round(listening - killed, 2),
            "tunnels_back": back,
            "back_50pct_s": round(percentile(times, 50), 2),
            "back_99pct_s": round(percentile(times, 99), 2),
            "back_100pct_s": round(times[-1], 2) if back == n else None,
            "gateway_alive": alive,
            "gateway_cpu_s": round(cpu_seconds(gateway.popen.pid) - cpu0, 1),
            "gateway_rss_after_mb": round(memory_kb(gateway.popen.pid)["VmRSS"] / 1024, 1),
            "health_probe": health,
            "gateway_healthy": alive and health["failures"] == 0,
            # Met only if every tunnel came back and the gateway stayed healthy meanwhile (no failed probe).
            "target_met": back == n and alive and health["failures"] == 0,
        }
        print(
            f"  {back}/{n} back: 50% after {percentile(times, 50):.2f} s, 99% after {percentile(times, 99):.2f} s, "
            f"100% after {result['restart']['back_100pct_s']} s; health probes {health['probes']} with "  # type: ignore[index]
            f"{health['failures']} failed, worst {health['worst_ms_including_failures']:.0f} ms "
            f"(failed ones included); gateway healthy: {'yes' if result['restart']['gateway_healthy'] else 'NO'}",  # type: ignore[index]
            flush=True,
        )
    finally:
        workers.stop()
        # How long a graceful stop takes with every tunnel closing at once is a finding too, not a failure.
        t0 = time.monotonic()
        try:
            gateway.stop(timeout=args.stop_timeout)
            result["gateway_sigterm_stop_s"] = round(time.monotonic() - t0, 1)
        except subprocess.TimeoutExpired:
            gateway.stop(signal.SIGKILL)
            result["gateway_sigterm_stop_s"] = f"more than {args.stop_timeout:g} s (killed)"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunnels", type=int, default=1000)
    parser.add_argument("--per-process", type=int, default=2500, help="simulated agents per worker process")
    parser.add_argument("--per-channel", type=int, default=1, help="tunnels sharing one gRPC channel (1: own each)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before reading the memory")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for all tunnels")
    parser.add_argument("--stop-timeout", type=float, default=60.0, help="seconds a SIGTERM stop may take")
    parser.add_argument("--log-level", default="info", help="gateway log level (production default: info)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    limit = raise_fd_limit()
    print(f"open-file limit {limit}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, Path(tmp))
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    path = write_results(f"scale-{args.tunnels}", {"settings": settings, "fd_limit": limit, **result}, args.out)
    print(f"written: {path} and scale-{args.tunnels}-latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
