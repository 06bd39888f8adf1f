"""Deployment files, proto lint and the Makefile: checked with the real tools where they are installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from onlineconnect.testing import need_service

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
BUF = ROOT / "examples" / "node" / "node_modules" / ".bin" / "buf"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_systemd_units_pass_systemd_analyze_verify(unit: Path, tmp_path: Path) -> None:
    """Each unit passes ``systemd-analyze verify`` (with ExecStart pointed at this venv's console scripts)."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (a tool, not a service: skipped even under CI)")
    copy = tmp_path / unit.name
    copy.write_text(unit.read_text().replace("/opt/onlineconnect/bin/", f"{Path(sys.executable).parent}/"))
    out = subprocess.run([tool, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def test_agent_unit_is_sandboxed_and_cannot_listen_publicly() -> None:
    """The agent unit runs as a dynamic user, read-only system, no new privileges, IP traffic denied by default."""
    text = (DEPLOY / "systemd" / "onlineconnect-agent.service").read_text()
    for line in (
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "IPAddressDeny=any",
        "CapabilityBoundingSet=\n",
    ):
        assert line in text


def test_every_deploy_file_is_referenced_from_the_docs() -> None:
    """Each file under deploy/ is named in docs/ or README.md, so an operator finds it."""
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("docs/*.md"), ROOT / "README.md"])
    missing = [
        str(p.relative_to(ROOT))
        for p in DEPLOY.rglob("*")
        if p.is_file() and str(p.relative_to(ROOT)) not in docs and p.parent.name != "demo"
    ]
    assert not missing, f"not referenced from docs/: {missing}"


def test_container_demo_configs_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compose demo's gateway and agent configs load without errors."""
    from onlineconnect.agent.config import load_agent_config
    from onlineconnect.gateway.config import load_gateway_config

    gw = load_gateway_config(DEPLOY / "container" / "gateway-demo.toml")
    assert gw.metrics_listen == "0.0.0.0:9464"
    monkeypatch.setenv("OC_AGENT_TOKEN", "demo-agent-token")
    agent = load_agent_config(DEPLOY / "container" / "agent-demo.toml")
    assert agent.gateways == ("127.0.0.1:50051",)


def test_buf_lint_passes_on_the_protos() -> None:
    """``buf lint`` with the checked-in buf.yaml reports nothing on protos/."""
    need_service(BUF.exists(), "buf is not installed; run `make tools` (npm ci in examples/node)")
    out = subprocess.run([str(BUF), "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_make_help_lists_every_target_with_its_description() -> None:
    """Every target in the Makefile has a ``## description`` and appears in ``make help`` on one line."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z_-]+):", makefile, flags=re.M))
    described = set(re.findall(r"^([a-zA-Z_-]+):.*## \S", makefile, flags=re.M))
    assert targets == described, f"targets without a description: {sorted(targets - described)}"
    out = subprocess.run([make, "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.strip()}
    assert listed == targets
    assert len(out.stdout.strip().splitlines()) == len(targets)
