"""``onlineconnect-agent``: run the on-premise agent, or check its setup.

onlineconnect-agent --config agent.toml              # run (same as: run --config …)
onlineconnect-agent check --config agent.toml        # one line per check, exit 0 only if all pass
onlineconnect-agent diagnose --config agent.toml [--json]   # the network path step by step, with fixes
onlineconnect-agent --config agent.toml --print-config
onlineconnect-agent audit verify audit.jsonl         # exit 0 only if the audit log's hash chain is intact
kill -HUP <pid>                                      # re-read token and tenant key (used from the next tunnel)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
from pathlib import Path
from types import FrameType

import structlog

from onlineconnect.errors import ConfigError
from onlineconnect.logs import configure

from . import audit
from .app import Agent
from .config import AgentConfig, load_agent_config

log = structlog.get_logger("onlineconnect.agent")


def _reload_credentials(agent: Agent, path: Path) -> None:
    """SIGHUP: takes over a changed token and tenant key; the next tunnel uses them (after a key rotation the
    gateway drains the old tunnel, so the agent reconnects with the new key)."""
    try:
        new = load_agent_config(path)
    except ConfigError as exc:
        log.error("config.reload_failed", source=str(path), error=exc.message, hint="old config stays")
        return
    mine = next((c for c in new.tenant_configs() if c.tenant == agent.config.tenant), None)
    if mine is None:
        log.error("config.reload_failed", source=str(path), error=f"tenant {agent.config.tenant!r} is gone")
        return
    agent.config = dataclasses.replace(agent.config, token=mine.token, key_id=mine.key_id, key=mine.key)
    log.info("config.reloaded", source=str(path), tenant=mine.tenant, key_id=mine.key_id)


def _verify(path: Path) -> int:
    try:
        verdict = audit.verify(path)
    except OSError as exc:
        print(f"onlineconnect-agent: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    for problem in verdict.problems:
        print(f"{path}: {problem}")
    state = "intact" if verdict.ok else "BROKEN"
    print(f"{path}: {verdict.records} records, chain {state}, last hash {verdict.head}")
    return 0 if verdict.ok else 1


def _run(args: argparse.Namespace) -> int:
    try:
        config = load_agent_config(args.config)
    except ConfigError as exc:
        print(f"onlineconnect-agent: configuration error: {exc.message}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(config.printable(), indent=2))
        return 0
    configure(fmt=config.log_format, level=config.log_level, role="agent")
    audit_log: audit.AuditLog | None = None
    if config.audit_file is not None:
        try:
            audit_log = audit.AuditLog(config.audit_file)
        except OSError as exc:
            print(f"onlineconnect-agent: cannot open audit file {config.audit_file}: {exc.strerror}", file=sys.stderr)
            return 2
    agents = [Agent(c, audit=audit_log) for c in _per_tenant(config)]

    def on_hup(_sig: int, _frame: FrameType | None) -> None:
        for agent in agents:
            _reload_credentials(agent, args.config)

    signal.signal(signal.SIGHUP, on_hup)
    try:
        for agent in agents:
            agent.open()
    except ConfigError as exc:
        print(f"onlineconnect-agent: {exc.message}", file=sys.stderr)
        return 2

    async def run_all() -> None:
        stop = asyncio.Event()  # one SIGTERM stops every tenant's tunnels
        await asyncio.gather(*(agent.run(grace=args.grace, stop=stop) for agent in agents))

    try:
        asyncio.run(run_all())
    except KeyboardInterrupt:
        pass
    return max(agent.exit_code for agent in agents)


def _per_tenant(config: AgentConfig) -> list[AgentConfig]:
    """One agent configuration per tenant; with several, each gets its own status and metrics file (name.tenant.ext),
    so one tenant's broken database or refused key shows as that tenant's, and the others keep serving."""
    configs = config.tenant_configs()
    if len(configs) == 1:
        return configs

    def suffixed(path: Path | None, tenant: str) -> Path | None:
        return None if path is None else path.with_name(f"{path.stem}.{tenant}{path.suffix}")

    return [
        dataclasses.replace(
            c,
            status_file=suffixed(c.status_file, c.tenant),
            metrics_textfile=suffixed(c.metrics_textfile, c.tenant),
        )
        for c in configs
    ]


def _direct(args: argparse.Namespace) -> int:
    from .app import open_handlers
    from .direct import serve_direct

    config = load_agent_config(args.config)
    configure(fmt=config.log_format, level=config.log_level, role="agent-direct")
    _db, handlers = open_handlers(config)
    try:
        asyncio.run(serve_direct(handlers, config.tenant, args.listen))
    except KeyboardInterrupt:
        pass
    return 0


def _check(args: argparse.Namespace) -> int:
    from .check import run_checks

    return run_checks(args.config)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onlineconnect-agent", description="Run or check the Online Connect agent.")
    parser.add_argument("--config", type=Path, help="agent TOML file")
    parser.add_argument(
        "--print-config", action="store_true", help="print the effective configuration (secrets masked) and exit"
    )
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to let in-flight requests finish on SIGTERM")
    sub = parser.add_subparsers(dest="command")
    run_p = sub.add_parser("run", help="run the agent (the default)")
    run_p.add_argument("--config", type=Path, dest="sub_config")
    check_p = sub.add_parser("check", help="check configuration, database, mapping, gateway and key")
    check_p.add_argument("--config", type=Path, dest="sub_config")
    diag_p = sub.add_parser(
        "diagnose", help="walk DNS, TCP, proxy, TLS, HTTP/2, token, key, round trip and database; name each fix"
    )
    diag_p.add_argument("--config", type=Path, dest="sub_config")
    diag_p.add_argument("--json", action="store_true", help="one JSON document instead of lines (for monitoring)")
    direct_p = sub.add_parser("direct", help="serve the handlers as plain gRPC on loopback (benchmark baseline)")
    direct_p.add_argument("--config", type=Path, dest="sub_config")
    direct_p.add_argument("--listen", default="127.0.0.1:50052")
    audit_p = sub.add_parser("audit", help="work with the audit log")
    audit_sub = audit_p.add_subparsers(dest="audit_command", required=True)
    verify_p = audit_sub.add_parser("verify", help="check the hash chain: exit 0 intact, 1 edited/removed/reordered")
    verify_p.add_argument("file", type=Path, help="the audit file ([audit] file in agent.toml)")
    args = parser.parse_args(argv)
    if args.command == "audit":
        return _verify(args.file)
    args.config = getattr(args, "sub_config", None) or args.config
    if args.config is None:
        parser.error("--config FILE is required")
    if args.command == "check":
        return _check(args)
    if args.command == "diagnose":
        from .diagnose import run_diagnose

        return run_diagnose(args.config, as_json=args.json)
    if args.command == "direct":
        return _direct(args)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
