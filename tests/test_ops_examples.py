"""The shop client examples in examples/ run against a live gateway and agent on the demo ERP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.ops_stack import Stack, demo_stack

from onlineconnect.testing import need_service

EXAMPLES = Path(__file__).parents[1] / "examples"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Gateway and agent processes shared by the module's tests."""
    with demo_stack(tmp_path_factory.mktemp("examples"), metrics=False) as s:
        yield s


def json_lines(text: str) -> list[dict[str, object]]:
    """The JSON objects printed one per line."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_node_example_against_a_live_gateway(stack: Stack) -> None:
    """examples/node (grpc-js) gets the sheet's order and the Hockenheim store, and maps NOT_FOUND to 404."""
    node = shutil.which("node")
    need_service(node is not None, "node (v18+) is not installed")
    need_service((EXAMPLES / "node" / "node_modules" / "@grpc" / "grpc-js").is_dir(), "run `make tools` (npm ci)")
    assert node is not None
    out = subprocess.run(
        [node, "demo.js"],
        cwd=EXAMPLES / "node",
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OC_GATEWAY": stack.address, "OC_INSECURE": "1", "OC_API_KEY": "demo-shop-key"},
    )
    assert out.returncode == 0, out.stderr
    order, stock, missing = json_lines(out.stdout)
    assert order == {"rpc": "GetOrder", "order_number": "091782005", "status": order["status"], "lines": order["lines"]}
    assert stock["first_store"] == "MEGA STORE Hockenheim"
    assert missing["code"] == 5 and missing["httpStatus"] == 404  # 5 = NOT_FOUND


def test_python_example_against_a_live_gateway(stack: Stack) -> None:
    """examples/python/shop_client.py prints the order, the nearest store and a 404 for another customer's order."""
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "python" / "shop_client.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OC_GATEWAY": stack.address, "OC_INSECURE": "1"},
    )
    assert out.returncode == 0, out.stderr
    order, stock, missing = json_lines(out.stdout)
    assert order["order_number"] == "091782005"
    assert stock["first_store"] == "MEGA STORE Hockenheim"
    assert missing["code"] == "NOT_FOUND" and missing["http"] == 404
