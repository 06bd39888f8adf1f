"""``onlineconnect-agent check --config FILE``: is this agent ready to run? One line per check, with what to fix.

Checks, in order (a failed step skips the ones that depend on it):

1. the configuration file loads and validates;
2. the SQL mapping loads (every statement a single SELECT with known parameters);
3. the ERP database is reachable, and its user can only read (privileges, not statements: the start refuses a
   user that can write unless ``database.allow_writable_user = true``);
4. every mapped query prepares against the database and returns the columns the agent reads;
4a. sampled real rows of every mapped query have the value forms of the contract (money in cents, ISO dates,
   whole quantities, flags), and an order's total equals its lines (catches euros for cents);
5. per configured gateway: it is reachable and accepts the agent token for the tenant, and the tenant key (key id
   and key) matches the gateway's: a real tunnel handshake, one attempt, closed right after.

Exit status 0 only when every check passed, 1 otherwise. Nothing is written to the ERP and no request is served.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TextIO

import grpc
import structlog
import structlog.testing

from onlineconnect import __version__
from onlineconnect.errors import ConfigError, OnlineConnectError

from .config import AgentConfig, load_agent_config, proxy_for_gateway
from .connector import CHANNEL_OPTIONS, channel_credentials
from .erp.db import Database, open_database, validate_queries, validate_values
from .erp.dberrors import UNREACHABLE
from .erp.mapping import Mapping, load_mapping
from .erp.privileges import describe, inspect_privileges
from .proxy import grpc_proxy_options
from .session import HandshakeError, TunnelSession

HANDSHAKE_SECONDS = 10.0


@dataclass
class Report:
    """Collects check results and prints each as one line."""

    out: TextIO = sys.stdout
    failed: list[str] = field(default_factory=list)

    def ok(self, check: str, detail: str) -> None:
        """Records and prints a passed check."""
        print(f"ok    {check:<22} {detail}", file=self.out)

    def fail(self, check: str, problem: str, fix: str) -> None:
        """Records and prints a failed check with what to fix."""
        self.failed.append(check)
        print(f"FAIL  {check:<22} {problem}\n      {'':<22} fix: {fix}", file=self.out)

    def note(self, check: str, detail: str) -> None:
        """Prints a remark that does not fail the check (a driver limitation, an unverifiable privilege)."""
        print(f"note  {check:<22} {detail}", file=self.out)

    def skip(self, check: str, why: str) -> None:
        """Prints a check that could not run because an earlier one failed."""
        self.failed.append(check)
        print(f"skip  {check:<22} {why}", file=self.out)


class _TenantReport(Report):
    """Passes lines to ``report`` with the tenant's name after each check's name (an agent with several tenants)."""

    def __init__(self, report: Report, tenant: str) -> None:
        super().__init__(report.out, report.failed)
        self.tenant = tenant

    def ok(self, check: str, detail: str) -> None:
        super().ok(f"{check} [{self.tenant}]", detail)

    def fail(self, check: str, problem: str, fix: str) -> None:
        super().fail(f"{check} [{self.tenant}]", problem, fix)

    def note(self, check: str, detail: str) -> None:
        super().note(f"{check} [{self.tenant}]", detail)

    def skip(self, check: str, why: str) -> None:
        super().skip(f"{check} [{self.tenant}]", why)


def _first_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    text = str(getattr(cause, "orig", cause)).strip().splitlines()
    return text[0][:300] if text else type(cause).__name__


def _check_database(config: AgentConfig, mapping: Mapping, report: Report) -> None:
    # Driver remarks logged while checking (psqlODBC refusing a query timeout) become note lines of the report
    # instead of raw log lines in the middle of it.
    with structlog.testing.capture_logs() as events:
        _check_database_steps(config, mapping, report)
    for e in events:
        if e.get("log_level") in ("warning", "error") and e.get("event") not in _REPORTED_EVENTS:
            detail = ", ".join(f"{k}={v}" for k, v in e.items() if k not in ("event", "log_level"))
            report.note("database", f"{e.get('event')}: {detail}"[:300])


# Log events whose content the report already shows as check lines.
_REPORTED_EVENTS = frozenset({"database.writable_user", "database.privileges_unverified", "erp.sample_skipped"})


def _check_database_steps(config: AgentConfig, mapping: Mapping, report: Report) -> None:
    where = "database.url" if config.db_url else "database.odbc"
    try:
        db: Database = open_database(
            mapping, url=config.db_url, odbc=config.db_odbc, pool_size=1, params=config.mapping_params
        )
    except Exception as exc:  # a malformed URL, a missing driver module
        report.fail("database", f"cannot open: {_first_line(exc)}", f"correct {where} in {config.source}")
        report.skip("mapped queries", "needs the database")
        return
    try:
        try:
            db.ping()
        except OnlineConnectError as exc:
            report.fail(
                "database",
                f"{UNREACHABLE}: {_first_line(exc)}",
                f"start the database or correct host, port, user and password in {where} ({config.source})",
            )
            report.skip("mapped queries", "needs the database")
            return
        report.ok("database", f"reachable ({where})")
        _check_user(config, db, report)
        problems = validate_queries(db)
        if problems:
            for problem in problems:
                report.fail(
                    "mapped query",
                    problem,
                    "correct the SQL in the mapping file (docs/erp-databases.md lists each query's columns)",
                )
            report.skip("mapped values", "needs queries that fit the database")
            return
        report.ok("mapped queries", f"all {len(mapping.queries)} prepare and return the expected columns")
        findings, notes = validate_values(db)
        for finding in findings:
            report.fail(
                "mapped value",
                finding,
                "convert the column in the mapping's SQL to the form expected (docs/erp-databases.md, value forms)",
            )
        for note in notes:
            report.note("mapped values", note)
        if not findings:
            report.ok("mapped values", "sampled rows of every query have the expected value forms")
    finally:
        db.close()


def _check_user(config: AgentConfig, db: Database, report: Report) -> None:
    try:
        p = inspect_privileges(db)
    except OnlineConnectError as exc:
        report.fail("database user", f"cannot list its privileges: {exc.message}", "see the agent's log")
        return
    if not p.verified:
        report.note(
            "database user",
            f"privileges not verified: {p.how}; make sure the user can only read (docs/erp-databases.md)",
        )
    elif not p.writable:
        report.ok("database user", f"read-only ({p.how})")
    elif config.allow_writable_user:
        report.note("database user", f"can write ({describe(p)}); allowed by database.allow_writable_user")
    else:
        report.fail(
            "database user",
            f"can write: {describe(p)}",
            "give the agent a read-only database user (docs/erp-databases.md, 'A read-only database user'), "
            f"or set database.allow_writable_user = true in {config.source}",
        )


class Handshake(NamedTuple):
    """The outcome of one test tunnel: ``detail`` is the session id, or why it failed."""

    ok: bool
    detail: str
    clock_offset: float | None = None  # seconds the gateway's clock is ahead of this host's, if it said


async def _handshake(config: AgentConfig, gateway: str) -> Handshake:
    """Opens one tunnel to ``gateway``; returns whether it came up, with the session id or why not."""
    creds = None if config.insecure else channel_credentials(config.ca_file, config.client_cert, config.client_key)
    options = CHANNEL_OPTIONS + grpc_proxy_options(proxy_for_gateway(config, gateway))  # the agent's own path
    channel = (
        grpc.aio.insecure_channel(gateway, options=options)
        if creds is None
        else grpc.aio.secure_channel(gateway, creds, options=options)
    )
    session = TunnelSession(
        tenant=config.tenant,
        agent_id=f"{config.agent_id}-check",
        token=config.token,
        key_id=config.key_id,
        key=config.key,
        handlers=None,  # type: ignore[arg-type]  # never called: the session refuses every request
        version=__version__,
    )
    session.accepting = False  # a shop call routed here during the check gets UNAVAILABLE, not an answer
    task = asyncio.create_task(session.run(channel))
    ready = asyncio.create_task(session.ready.wait())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=HANDSHAKE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            return Handshake(True, session.session_id, session.clock_offset)
        if task in done:
            exc = task.exception()
            return Handshake(False, str(exc) if exc is not None else str(task.result()))
        return Handshake(False, f"no answer within {HANDSHAKE_SECONDS:.0f} s")
    finally:
        ready.cancel()
        task.cancel()
        await asyncio.gather(task, ready, return_exceptions=True)
        await channel.close(grace=None)


def _explain(config: AgentConfig, gateway: str, why: str, report: Report) -> None:
    src = config.source
    if "UNAUTHENTICATED" in why or ("PERMISSION_DENIED: " in why and "tunnel closed" not in why):
        report.ok("gateway", f"{gateway} reachable")
        report.fail("agent token", why, f"set agent.token in {src} to the token the relay operator issued")
        report.skip("tenant key", "needs an accepted token")
    elif "FAILED_PRECONDITION" in why or "not (or no longer) accepted" in why:
        report.ok("gateway", f"{gateway} reachable, token accepted")
        report.fail("tenant key", why, f"set agent.key_id in {src} to a key id the gateway accepts")
    elif "tunnel closed" in why or "rejected" in why:
        report.ok("gateway", f"{gateway} reachable, token accepted for tenant {config.tenant!r}")
        report.fail(
            "tenant key",
            "the gateway could not open the agent's sealed frame: the key differs from the gateway's",
            f"set agent.key in {src} to the 32 hex digits configured for tenant {config.tenant!r}, key id "
            f"{config.key_id}",
        )
    else:
        report.fail(
            "gateway",
            f"{gateway}: {why}",
            f"check agent.gateway and TLS settings in {src}, DNS and that outbound connections to it are allowed",
        )
        report.skip("agent token", "needs the gateway")
        report.skip("tenant key", "needs the gateway")


def _check_gateways(config: AgentConfig, report: Report) -> None:
    for gateway in config.gateways:
        try:
            ok, detail, _ = asyncio.run(_handshake(config, gateway))
        except (HandshakeError, OSError, ValueError) as exc:
            ok, detail = False, str(exc)
        if ok:
            report.ok("gateway", f"{gateway} reachable, token accepted for tenant {config.tenant!r}")
            report.ok("tenant key", f"key id {config.key_id} matches the gateway's (session {detail})")
        else:
            _explain(config, gateway, detail, report)


def run_checks(path: Path, *, out: TextIO | None = None) -> int:
    """Runs every check for the agent configured in ``path``; prints one line per check.

    Returns:
        0 when every check passed, 1 otherwise.
    """
    report = Report(out or sys.stdout)
    try:
        config = load_agent_config(path)
    except ConfigError as exc:
        report.fail("configuration", exc.message, "correct the named key; docs/erp-databases.md shows an example")
        return 1
    report.ok("configuration", str(path))
    tenants = config.tenant_configs()
    for tenant in tenants:  # several Mandanten: every step for each, its lines marked with the tenant
        part = _TenantReport(report, tenant.tenant) if len(tenants) > 1 else report
        try:
            mapping = load_mapping(tenant.mapping_file, params=tenant.mapping_params)
        except ConfigError as exc:
            part.fail("mapping", exc.message, "correct the mapping file")
            part.skip("database", "needs a valid mapping")
        else:
            part.ok("mapping", str(tenant.mapping_file or "defaults"))
            _check_database(tenant, mapping, part)
        _check_gateways(tenant, part)
    summary = "all checks passed" if not report.failed else f"{len(report.failed)} check(s) did not pass"
    print(summary, file=report.out)
    return 0 if not report.failed else 1
