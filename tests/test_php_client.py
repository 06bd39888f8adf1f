"""The PHP client (clients/php) runs its PHPUnit suite against real gateway and agent processes on the demo ERP.

Two gateways are started: one with the demo agent connected, and one whose tenant has no agent (every call there
answers UNAVAILABLE). The first also knows two extra shop keys: one that may call GetStoreStock only
(PERMISSION_DENIED) and one with a per-customer limit of one call (RESOURCE_EXHAUSTED); its guest order lookup
allows few calls per customer IP. PHPUnit gets the addresses and keys through environment variables
(clients/php/tests/bootstrap.php lists them).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from support.ops_stack import demo_stack, read_events

from onlineconnect.testing import need_service

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "php"
DENIED_KEY = "php-denied-key"
LIMITED_KEY = "php-limited-key"
GUEST_IP_BURST = 3  # guest lookups per customer IP on the live gateway before RESOURCE_EXHAUSTED
WRONG_POSTCODE = "XQ7 9ZZ"  # the postcode GuestLookupTest.php sends in its wrong pair

PHP = shutil.which("php")
PHPUNIT = shutil.which("phpunit")


def php_ready() -> None:
    """Skips on a laptop without PHP, fails under CI=true (.ci/run installs php-cli, php-curl and phpunit)."""
    need_service(
        PHP is not None and PHPUNIT is not None,
        "php and phpunit are not installed (apt-get install php-cli php-curl phpunit)",
    )
    assert PHP is not None
    has_curl = subprocess.run([PHP, "-r", "exit(extension_loaded('curl') ? 0 : 1);"], check=False).returncode == 0
    need_service(has_curl, "the PHP curl extension is not installed (apt-get install php-curl)")


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


EXTRA_SHOPS = f"""
[[shops]]
name = "php-denied"
tenant = "demo"
key_sha256 = "{_sha(DENIED_KEY)}"
rpcs = ["GetStoreStock"]

[[shops]]
name = "php-limited"
tenant = "demo"
key_sha256 = "{_sha(LIMITED_KEY)}"
customer_rate_limit = {{ per_second = 0.001, burst = 1 }}

[guest_lookup]
ip_rate_limit = {{ per_second = 0.001, burst = {GUEST_IP_BURST} }}
"""


def test_phpunit_suite_against_real_gateways(tmp_path: Path) -> None:
    """clients/php's PHPUnit suite passes against a gateway with the demo agent and one without any agent."""
    php_ready()
    assert PHPUNIT is not None
    with (
        demo_stack(tmp_path / "live", metrics=False, http=True, extra=EXTRA_SHOPS) as live,
        demo_stack(tmp_path / "offline", metrics=False, http=True, agent=False) as offline,
    ):
        junit = tmp_path / "phpunit.xml"
        out = subprocess.run(
            [PHPUNIT, "-c", str(CLIENT / "phpunit.xml.dist"), "--log-junit", str(junit)],
            cwd=CLIENT,
            capture_output=True,
            text=True,
            timeout=110,
            env={
                **os.environ,
                "OC_BASE_URL": live.http,
                "OC_API_KEY": "demo-shop-key",
                "OC_BASE_URL_NO_AGENT": offline.http,
                "OC_DENIED_KEY": DENIED_KEY,
                "OC_LIMITED_KEY": LIMITED_KEY,
                "OC_GUEST_IP_BURST": str(GUEST_IP_BURST),
            },
        )
        assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
        suite = ET.parse(junit).getroot().find("testsuite")
        assert suite is not None
        counts = {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}
        assert counts["tests"] >= 40, counts
        assert counts["failures"] == counts["errors"] == counts["skipped"] == 0, counts
        # The gateway's own view of the retry: the UNAVAILABLE call arrived twice under one request id.
        failed = [e for e in read_events(offline.gateway_log) if e.get("event") == "call.failed"]
        retried = [e for e in failed if e.get("request_id") == "php-retry-1"]
        assert [(e["protocol"], e["code"]) for e in retried] == [("connect", "UNAVAILABLE")] * 2, retried
        # The guest lookup's UNAVAILABLE was sent once; its wrong postcode is in no log line of either process.
        guest = [e for e in read_events(offline.gateway_log) if e.get("request_id") == "php-guest-offline-1"]
        assert [e["code"] for e in guest if e.get("event") == "call.failed"] == ["UNAVAILABLE"], guest
        wrong = [e for e in read_events(live.gateway_log) if e.get("request_id") == "php-guest-wrong-1"]
        assert any(e.get("code") == "NOT_FOUND" for e in wrong), wrong
        for log in (live.gateway_log, live.agent_log):
            assert WRONG_POSTCODE not in log.read_text(), log.name
