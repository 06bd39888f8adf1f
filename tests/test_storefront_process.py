"""The storefront as `make demo` runs it: `python -m onlineconnect.storefront` beside gateway and agent processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing.processes import (
    SHOP_KEY,
    free_port,
    start,
    wait_serving,
    write_agent_config,
    write_gateway_config,
)


def wait_http(url: str, timeout: float = 20) -> str:
    """Waits until ``url`` answers and returns the page."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return str(r.read().decode())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_storefront_process_serves_stock_from_the_agent_and_stops_on_sigterm(tmp_path: Path) -> None:
    """The storefront module started with --gateway/--shop-key/--listen shows live stock and exits 0 on SIGTERM."""
    erp = tmp_path / "erp"
    create_demo_erp(erp / "erp.db", erp / "archive")
    port, http = free_port(), free_port()
    gw = start("onlineconnect-gateway", ["--config", str(write_gateway_config(tmp_path, port))], tmp_path)
    agent = start("onlineconnect-agent", ["--config", str(write_agent_config(tmp_path, port, erp))], tmp_path)
    args = ["--gateway", f"127.0.0.1:{port}", "--shop-key", "env:SHOP_KEY", "--listen", f"127.0.0.1:{http}"]
    with (tmp_path / "storefront.log").open("wb") as log:
        shop = subprocess.Popen(
            [sys.executable, "-m", "onlineconnect.storefront", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={"SHOP_KEY": SHOP_KEY, "PATH": "/usr/bin:/bin"},
        )
    try:
        wait_serving(f"127.0.0.1:{port}")
        page = wait_http(f"http://127.0.0.1:{http}/products/851888?size=XS&colour=KI&postcode=68766")
        assert "Dieser Artikel ist im MEGA STORE Hockenheim 1x verfügbar" in page
        shop.send_signal(signal.SIGTERM)
        assert shop.wait(timeout=15) == 0
    finally:
        if shop.poll() is None:
            shop.kill()
        agent.stop()
        gw.stop()
    assert "storefront.stopped" in (tmp_path / "storefront.log").read_text()
