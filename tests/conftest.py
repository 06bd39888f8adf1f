"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

IN_CI = os.environ.get("CI", "").lower() == "true"


def need_service(available: bool, reason: str) -> None:
    """Skips on a developer machine, fails under CI=true, when a required service is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"required service missing under CI: {reason}")
    pytest.skip(reason)


# -- no secrets in logs -----------------------------------------------------------------------------------------
# Every structlog event of the whole run is recorded; at the end the run fails if one carries a known test secret
# (shop keys, agent tokens, tenant keys) or PDF bytes. Tests of real processes scan their own log files.
KNOWN_SECRETS = (
    "test-shop-key",
    "test-agent-token",
    "demo-shop-key",
    "demo-agent-token",
    "proc-shop-key",
    "proc-agent-token",
    "57ea0dae8fa4ee3ebfc34523b42b3feb",  # demo tenant key
    "00112233445566778899aabbccddeeff",  # tests/procs.py tenant key
    "000102030405060708090a0b0c0d0e0f",  # tests/test_security_tls.py tenant key
    "0f1e2d3c4b5a69788796a5b4c3d2e1f0",  # tests/test_fuzz_envelope.py tenant key
    "%PDF-",
)


def find_secrets(text: str) -> list[str]:
    """The known test secrets that occur in ``text``."""
    return [s for s in KNOWN_SECRETS if s in text]


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
