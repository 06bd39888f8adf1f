"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from support.secrets import find_secrets

from onlineconnect.agent.erp.demo import create_demo_erp

IN_CI = os.environ.get("CI", "").lower() == "true"


# -- no secrets in logs -----------------------------------------------------------------------------------------
# Every structlog event of the whole run is recorded; at the end the run fails if one carries a known test secret
# (shop keys, agent tokens, tenant keys) or PDF bytes. Tests of real processes scan their own log files.


class LogRecorder:
    """A structlog processor that keeps a text copy of every event (found by tests through structlog's config)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, _logger: object, _method: str, event: dict[str, object]) -> dict[str, object]:
        self.lines.append(repr(event))
        return event


RECORDER = LogRecorder()


@pytest.fixture(scope="session", autouse=True)
def _record_logs() -> None:
    """Records every structlog event of the run for the secret scan in pytest_sessionfinish."""
    import structlog

    processors = structlog.get_config()["processors"]
    if not any(isinstance(p, LogRecorder) for p in processors):
        structlog.configure(processors=[RECORDER, *processors])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the run if any recorded log event carried a known secret."""
    leaks = [(s, line[:200]) for line in RECORDER.lines for s in find_secrets(line)]
    if leaks:
        print(f"\n{len(leaks)} log events carry secrets, e.g.: {leaks[:3]}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="module")
def erp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo ERP, built once per test module: ``erp.db`` and the invoice ``archive`` in one folder (the module's
    tests only read it; a test that changes the ERP builds its own)."""
    folder = tmp_path_factory.mktemp("erp")
    create_demo_erp(folder / "erp.db", folder / "archive")
    return folder
