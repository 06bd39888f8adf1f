"""One logging pipeline: structlog events and standard-library records (grpc, SQLAlchemy, uvicorn, asyncio,
``warnings``) render alike, as JSON or as console lines, in a configured process and in the real gateway and agent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support.ops_stack import BIN, TENANT_KEY, Stack, agent_toml, gateway_toml, wait_event, wait_serving

from onlineconnect.agent.erp.demo import create_demo_erp

# Run in a process of its own: configure() sets the root logger, the warnings capture and the excepthooks.
SCRIPT = """
import logging, sys, threading, warnings
import structlog
from onlineconnect.logs import configure

configure(fmt=sys.argv[1], level="info", role="agent")
structlog.get_logger().info("probe.ours", n=1)
logging.getLogger("sqlalchemy.pool.impl.QueuePool").warning("pool %s is %s", "p", "busy")
logging.getLogger("sqlalchemy.engine.Engine").info("SELECT 1")  # below warning: not shown
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("asyncio").exception("Task exception was never retrieved")
warnings.warn("probe warning", ResourceWarning, stacklevel=1)
class Leaky:
    def __del__(self):
        raise ValueError("probe unraisable")
Leaky()
t = threading.Thread(target=lambda: 1 / 0, name="worker-1")
t.start()
t.join()
raise RuntimeError("probe uncaught")
"""


def run_probe(fmt: str) -> list[str]:
    """The stderr lines of a process that logs through every path after ``configure(fmt=fmt)``."""
    env = {**os.environ, "PYTHONWARNINGS": "always"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, fmt], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    return done.stderr.splitlines()


def parse_all(lines: list[str], where: str) -> list[dict[str, Any]]:
    """Every line parsed as a JSON object with level, event and timestamp (fails naming the first that is not)."""
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            raise AssertionError(f"{where}: not JSON: {line!r}") from None
        assert isinstance(event, dict), line
        assert {"level", "event", "timestamp"} <= event.keys(), line
        events.append(event)
    return events


def test_json_every_path_is_one_object_per_line() -> None:
    """With JSON logs our events, foreign records, tracebacks, warnings and uncaught exceptions are JSON lines."""
    events = parse_all(run_probe("json"), "probe")
    by_event = {e["event"]: e for e in events}
    assert by_event["probe.ours"]["role"] == "agent" and by_event["probe.ours"]["n"] == 1
    pool = by_event["pool p is busy"]
    assert pool["logger"] == "sqlalchemy.pool.impl.QueuePool" and pool["level"] == "warning"
    assert pool["role"] == "agent"
    assert "SELECT 1" not in by_event
    task = by_event["Task exception was never retrieved"]
    assert task["logger"] == "asyncio" and task["level"] == "error" and "ZeroDivisionError" in task["exception"]
    (warned,) = [e for e in events if e.get("logger") == "py.warnings"]
    assert "ResourceWarning: probe warning" in warned["event"]
    thread = by_event["thread.uncaught_exception"]
    assert thread["thread"] == "worker-1" and "ZeroDivisionError" in thread["exception"]
    unraisable = by_event["process.unraisable_exception"]
    assert "Leaky" in unraisable["object"] and "ValueError: probe unraisable" in unraisable["exception"]
    crash = by_event["process.uncaught_exception"]
    assert crash["level"] == "critical" and "RuntimeError: probe uncaught" in crash["exception"]


def test_console_renders_foreign_records_like_our_events() -> None:
    """In console format a foreign record has the same layout as an event: timestamp, [level], event, fields."""
    text = "\n".join(run_probe("console"))
    assert "{" not in text.split("Traceback")[0]  # no JSON before the first traceback
    ours = next(line for line in text.splitlines() if "probe.ours" in line)
    pool = next(line for line in text.splitlines() if "pool p is busy" in line)
    assert "[info     ]" in ours and "role=agent" in ours
    assert "[warning  ]" in pool and "[sqlalchemy.pool.impl.QueuePool]" in pool and "role=agent" in pool
    assert pool[:4] == ours[:4]  # both start with the same ISO timestamp's year
    assert "RuntimeError: probe uncaught" in text


# Loaded by both processes through PYTHONPATH: on SIGUSR1 a library logger (asyncio) and the warnings module report
# something, as they would on their own, at a moment the test chooses.
SITECUSTOMIZE = """
import logging, signal, warnings

def _report(_signum, _frame):
    logging.getLogger("asyncio").warning("probe: slow callback %s", "on_frame")
    warnings.warn("probe: coroutine was never awaited", RuntimeWarning, stacklevel=1)

signal.signal(signal.SIGUSR1, _report)
"""


def test_both_processes_write_only_json_lines(tmp_path: Path, monkeypatch: Any) -> None:
    """A real gateway and agent with JSON logs: every line of both, stdlib records included, is JSON."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONASYNCIODEBUG", "1")  # asyncio reports slow callbacks through its logger
    create_demo_erp(tmp_path / "erp.db", tmp_path / "archive")
    (tmp_path / "tenant.key").write_text(TENANT_KEY + "\n")
    (tmp_path / "gateway.toml").write_text(gateway_toml() + '\n[http]\nlisten = "127.0.0.1:0"\n')
    stack = Stack(tmp_path)
    try:
        stack.spawn("gateway", [str(BIN / "onlineconnect-gateway"), "--config", str(tmp_path / "gateway.toml")])
        stack.address = f"127.0.0.1:{wait_event(stack.gateway_log, 'gateway.started')['port']}"
        http_port = int(wait_event(stack.gateway_log, "http.started")["port"])
        (tmp_path / "agent.toml").write_text(agent_toml(stack.address))
        stack.start_agent()
        wait_serving(stack.address)
        # uvicorn's parser refuses a request line that is not HTTP and logs it on "uvicorn.error".
        with socket.create_connection(("127.0.0.1", http_port), timeout=5) as conn:
            conn.sendall(b"NOT\x00HTTP\r\n\r\n")
            assert conn.recv(100).startswith(b"HTTP/1.1 400")
        for name in ("gateway", "agent"):
            stack.procs[name].send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            logs = (stack.gateway_log.read_text(), stack.agent_log.read_text())
            if all("probe: coroutine was never awaited" in text for text in logs):
                break
            time.sleep(0.05)
    finally:
        for name in list(stack.procs):
            code = stack.stop(name)
            log = stack.gateway_log if name == "gateway" else stack.agent_log
            assert code == 0, f"{name} exited {code}; the end of its log:\n{log.read_text()[-3000:]}"
    for name, log in (("gateway", stack.gateway_log), ("agent", stack.agent_log)):
        events = parse_all(log.read_text().splitlines(), name)
        assert {e["role"] for e in events} == {name}
        foreign = {(e["logger"], e["level"]) for e in events if "logger" in e}
        assert ("asyncio", "warning") in foreign and ("py.warnings", "warning") in foreign, name
        assert events[-1]["event"] == f"{name}.stopped"
    gateway = parse_all(stack.gateway_log.read_text().splitlines(), "gateway")
    assert any(e.get("logger") == "uvicorn.error" and e["event"] == "Invalid HTTP request received." for e in gateway)


GOAWAY = """
import asyncio
import onlineconnect  # noqa: F401  (what every process of the project imports first)
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health

async def once():
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
        await watch.read()
        await server.stop(0)  # a GOAWAY with an error code reaches the open stream
        try:
            await watch.read()
        except grpc.aio.AioRpcError:
            pass

async def main():
    for _ in range(30):  # gRPC prints the line only when the GOAWAY meets the stream in time: often, not always
        await once()

asyncio.run(main())
"""


def test_grpc_core_prints_no_informational_lines() -> None:
    """gRPC's C core writes to stderr past the logging pipeline, and newer releases print informational lines
    ("Got goaway …") by default: a process of the project leaves only gRPC's errors there, so a JSON log stays
    JSON when a gateway stops under an open stream."""
    env = {k: v for k, v in os.environ.items() if k not in {"GRPC_VERBOSITY", "GRPC_TRACE"}}
    done = subprocess.run([sys.executable, "-c", GOAWAY], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
