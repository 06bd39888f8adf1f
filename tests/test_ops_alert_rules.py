"""The Prometheus alert rules shipped in deploy/prometheus: valid for promtool, and behaving as their unit tests
(deploy/prometheus/onlineconnect-gateway-rules.test.yml) say, including two replicas with one agent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from onlineconnect.testing import need_service

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")


@pytest.fixture
def promtool() -> str:
    """The promtool binary (Debian package prometheus)."""
    need_service(PROMTOOL is not None, "promtool not found; apt-get install prometheus")
    assert PROMTOOL is not None
    return PROMTOOL


def test_the_alert_rules_are_valid(promtool: str) -> None:
    """promtool check rules accepts the shipped rule file and finds every documented alert in it."""
    out = subprocess.run(
        [promtool, "check", "rules", "onlineconnect-gateway-rules.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 5 rules found" in out.stdout
    docs = (RULES.parent.parent / "docs" / "operations.md").read_text()
    for alert in ("ErpOffline", "TunnelFlapping", "NatsLinkDown", "RateLimited", "MemoryBudgetNearLimit"):
        assert f"OnlineConnect{alert}" in (RULES / "onlineconnect-gateway-rules.yml").read_text()
        assert f"OnlineConnect{alert}" in docs, f"docs/operations.md does not say what to do for {alert}"


def test_the_alert_rules_pass_their_unit_tests(promtool: str) -> None:
    """promtool test rules passes: no ERP-offline alert for a replica serving its tenant through NATS, no alert
    on a rolling restart, and each alert fires when its condition holds."""
    out = subprocess.run(
        [promtool, "test", "rules", "onlineconnect-gateway-rules.test.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
