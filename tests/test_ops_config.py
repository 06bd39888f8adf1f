"""Configuration through the console scripts: errors name file, key and expectation; --print-config masks secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.ops_stack import AGENT_TOKEN, TENANT_KEY, agent_toml, gateway_toml

BIN = Path(sys.executable).parent


def run(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a console script and captures its output."""
    return subprocess.run(
        [str(BIN / script), *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def write(folder: Path, name: str, text: str) -> Path:
    """Writes a config file into ``folder``."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_gateway_print_config_masks_keys_and_shows_defaults(tmp_path: Path) -> None:
    """``onlineconnect-gateway --print-config`` prints JSON with defaults filled in and no key material."""
    path = write(tmp_path, "gateway.toml", gateway_toml(metrics=True))
    out = run("onlineconnect-gateway", "--config", str(path), "--print-config")
    assert out.returncode == 0, out.stderr
    cfg = json.loads(out.stdout)
    assert cfg["tenants"]["demo"]["keys"] == {"1": "***"}
    assert cfg["server"]["default_deadline_seconds"] == 10.0
    assert cfg["metrics"]["listen"] == "127.0.0.1:0"
    assert TENANT_KEY not in out.stdout


def test_agent_print_config_masks_secrets_from_env_and_file(tmp_path: Path) -> None:
    """``onlineconnect-agent --print-config`` resolves env: and file: secrets but prints them masked."""
    (tmp_path / "tenant.key").write_text(TENANT_KEY + "\n")
    path = write(tmp_path, "agent.toml", agent_toml("127.0.0.1:50051"))
    out = run("onlineconnect-agent", "--config", str(path), "--print-config", env={"OC_TEST_AGENT_TOKEN": AGENT_TOKEN})
    assert out.returncode == 0, out.stderr
    cfg = json.loads(out.stdout)
    assert cfg["agent"]["token"] == "***" and cfg["agent"]["key"] == "***"
    assert cfg["agent"]["status_interval_seconds"] == 0.2
    assert cfg["metrics"]["textfile"].endswith("agent.prom")
    assert AGENT_TOKEN not in out.stdout and TENANT_KEY not in out.stdout


def test_agent_print_config_masks_the_database_password(tmp_path: Path) -> None:
    """A password inside the database URL is hidden by --print-config."""
    (tmp_path / "tenant.key").write_text(TENANT_KEY)
    text = agent_toml("127.0.0.1:50051").replace(
        'url = "sqlite:///erp.db"', 'url = "postgresql+psycopg://reader:s3cret-pw@erp-db/erp"'
    )
    out = run(
        "onlineconnect-agent",
        "--config",
        str(write(tmp_path, "agent.toml", text)),
        "--print-config",
        env={"OC_TEST_AGENT_TOKEN": AGENT_TOKEN},
    )
    assert out.returncode == 0, out.stderr
    assert "s3cret-pw" not in out.stdout and "reader:***@erp-db" in out.stdout


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("insecure = true", 'insecure = "yes"'), "server.insecure: expected true or false"),
        (('format = "json"', 'format = "xml"'), 'log.format: expected "console" or "json"'),
        (
            ('listen = "127.0.0.1:0"\ninsecure', 'listen = "127.0.0.1:0"\nlisten_typo = 1\ninsecure'),
            "server.listen_typo",
        ),
        (('listen = "127.0.0.1:0"\n\n[tenants', 'listen = "9464"\n\n[tenants'), "metrics.listen: expected host:port"),
        (("1 = ", '1 = "abc" }\n#'), "tenants.demo.keys.1: expected 32 hex digits"),
    ],
)
def test_gateway_config_errors_name_file_key_and_expectation(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    """An invalid gateway config exits 2 with one line naming the file, the dotted key and what is expected."""
    text = gateway_toml(metrics=True)
    assert change[0] in text
    path = write(tmp_path, "gateway.toml", text.replace(change[0], change[1], 1))
    out = run("onlineconnect-gateway", "--config", str(path), "--print-config")
    assert out.returncode == 2
    assert str(path) in out.stderr and expected in out.stderr, out.stderr


def test_agent_config_names_a_missing_environment_variable(tmp_path: Path) -> None:
    """``token = "env:NAME"`` with NAME unset is an error naming the file, agent.token and the variable."""
    (tmp_path / "tenant.key").write_text(TENANT_KEY)
    path = write(tmp_path, "agent.toml", agent_toml("127.0.0.1:50051"))
    env = {k: v for k, v in os.environ.items() if k != "OC_TEST_AGENT_TOKEN"}
    out = subprocess.run(
        [str(BIN / "onlineconnect-agent"), "--config", str(path), "--print-config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 2
    assert f"{path}: agent.token: environment variable OC_TEST_AGENT_TOKEN is not set" in out.stderr


def test_agent_config_names_an_unreadable_secret_file(tmp_path: Path) -> None:
    """``key = "file:PATH"`` with a missing file is an error naming agent.key and the path."""
    path = write(tmp_path, "agent.toml", agent_toml("127.0.0.1:50051"))
    out = run("onlineconnect-agent", "--config", str(path), "--print-config", env={"OC_TEST_AGENT_TOKEN": "x"})
    assert out.returncode == 2
    assert f"{path}: agent.key: cannot read secret file" in out.stderr and "tenant.key" in out.stderr


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    """A config path that does not exist is reported with that path, exit code 2."""
    out = run("onlineconnect-gateway", "--config", str(tmp_path / "nope.toml"))
    assert out.returncode == 2
    assert f"{tmp_path / 'nope.toml'}: cannot read configuration file" in out.stderr
