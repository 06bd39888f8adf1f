"""``onlineconnect-agent diagnose``: every failure on the way to the gateway is named by its step, with its fix."""

from __future__ import annotations

import datetime
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from support.proxy_stack import TinyProxy, TlsGateway, have_tinyproxy, start_tls_gateway, write_tls_agent_config

from onlineconnect.agent.diagnose import Steps, _clock, run_diagnose
from onlineconnect.testing import need_service
from onlineconnect.testing.processes import BIN, free_port


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsGateway]:
    """A TLS gateway process with a valid certificate for 127.0.0.1."""
    gw = start_tls_gateway(tmp_path_factory.mktemp("gw"), trustme.CA())
    yield gw
    gw.proc.stop()


def diagnose(folder: Path, gateway: str, ca_file: Path, erp: Path, lines: str = "") -> tuple[int, list[dict[str, str]]]:
    """Runs diagnose on a generated config; returns the exit status and the JSON steps."""
    folder.mkdir(parents=True, exist_ok=True)
    config = write_tls_agent_config(folder, gateway, ca_file, erp, agent_lines=lines)
    out = io.StringIO()
    code = run_diagnose(config, as_json=True, out=out)
    return code, json.loads(out.getvalue())["steps"]


def failed(steps: list[dict[str, str]]) -> dict[str, str]:
    """The first failed step."""
    return next(s for s in steps if s["status"] == "fail")


def test_all_steps_pass_and_print_one_line_each(tmp_path: Path, gateway: TlsGateway, erp: Path) -> None:
    """Against a healthy gateway every step passes, the exit status is 0 and the round trip is a median of 10."""
    config = write_tls_agent_config(tmp_path, gateway.address, gateway.ca_file, erp)
    run = subprocess.run(
        [str(BIN / "onlineconnect-agent"), "diagnose", "--config", str(config)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout
    lines = run.stdout.splitlines()
    steps = ("configuration", "dns", "tcp", "proxy", "tls", "http2", "round trip", "agent token", "tenant key")
    for step in (*steps, "clock offset"):
        assert any(line.startswith("ok") and f" {step} " in f" {line} " for line in lines), (step, run.stdout)
    assert "expires in" in run.stdout and "median" in run.stdout and "over 10 calls" in run.stdout
    assert lines[-1] == "all steps passed"


def test_unknown_host_fails_at_dns(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """A gateway name that does not resolve fails the DNS step and says to correct agent.gateway."""
    code, steps = diagnose(tmp_path, "no-such-gateway.invalid:443", gateway.ca_file, erp)
    assert code == 1
    step = failed(steps)
    assert step["step"] == "dns" and "unknown host" in step["detail"] and "agent.gateway" in step["fix"]


def test_refused_port_fails_at_tcp(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """A port nobody listens on fails the TCP step and names the firewall rule."""
    code, steps = diagnose(tmp_path, f"127.0.0.1:{free_port()}", gateway.ca_file, erp)
    step = failed(steps)
    assert code == 1 and step["step"] == "tcp" and "connection refused" in step["detail"]
    assert "outbound TCP" in step["fix"]


def test_proxy_407_fails_at_the_proxy_step(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """A proxy that wants credentials fails the proxy step with its 407 and names agent.proxy."""
    need_service(have_tinyproxy(), "tinyproxy is not installed (apt-get install tinyproxy)")
    (tmp_path / "p").mkdir()
    proxy = TinyProxy(tmp_path / "p", free_port())
    proxy.start()
    try:
        code, steps = diagnose(
            tmp_path / "a", gateway.address, gateway.ca_file, erp, f'proxy = "127.0.0.1:{proxy.port}"'
        )
    finally:
        proxy.stop()
    step = failed(steps)
    assert code == 1 and step["step"] == "proxy" and "407" in step["detail"] and "agent.proxy" in step["fix"]


def test_untrusted_ca_fails_at_tls(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """A gateway certificate from a CA the agent does not trust fails the TLS step and names agent.ca_file."""
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    code, steps = diagnose(tmp_path / "a", gateway.address, other, erp)
    step = failed(steps)
    assert code == 1 and step["step"] == "tls" and "not trusted" in step["detail"]
    assert "agent.ca_file" in step["fix"] and "TLS-inspecting" in step["fix"]


def test_wrong_host_name_fails_at_tls(tmp_path: Path, erp: Path) -> None:
    """A certificate issued for another name fails the TLS step and says which name to dial."""
    gw = start_tls_gateway(tmp_path / "gw", trustme.CA(), identities=("relay.example.com",))
    try:
        code, steps = diagnose(tmp_path / "a", gw.address, gw.ca_file, erp)
    finally:
        gw.proc.stop()
    step = failed(steps)
    assert code == 1 and step["step"] == "tls" and "not valid for '127.0.0.1'" in step["detail"]


def test_expired_certificate_fails_at_tls(tmp_path: Path, erp: Path) -> None:
    """An expired gateway certificate fails the TLS step and asks for renewal."""
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    gw = start_tls_gateway(tmp_path / "gw", trustme.CA(), not_after=past)
    try:
        code, steps = diagnose(tmp_path / "a", gw.address, gw.ca_file, erp)
    finally:
        gw.proc.stop()
    step = failed(steps)
    assert code == 1 and step["step"] == "tls" and "expired" in step["detail"] and "renew" in step["fix"]


def test_wrong_token_fails_at_the_agent_token(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """A token the gateway does not know fails the agent-token step; the network steps before it pass."""
    config = write_tls_agent_config(tmp_path, gateway.address, gateway.ca_file, erp)
    config.write_text(config.read_text().replace('token = "proc-agent-token"', 'token = "not-the-token"'))
    out = io.StringIO()
    code = run_diagnose(config, as_json=True, out=out)
    steps = json.loads(out.getvalue())["steps"]
    step = failed(steps)
    assert code == 1 and step["step"] == "agent token" and "agent.token" in step["fix"], steps
    assert all(s["status"] == "ok" for s in steps if s["step"] in ("tls", "http2", "round trip"))


def test_wrong_key_fails_at_the_tenant_key(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """A tenant key that differs from the gateway's fails the tenant-key step and names agent.key."""
    config = write_tls_agent_config(tmp_path, gateway.address, gateway.ca_file, erp)
    config.write_text(
        config.read_text().replace("00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100")
    )
    out = io.StringIO()
    code = run_diagnose(config, as_json=True, out=out)
    step = failed(json.loads(out.getvalue())["steps"])
    assert code == 1 and step["step"] == "tenant key" and "agent.key" in step["fix"]


def test_database_down_fails_at_the_database(tmp_path: Path, erp: Path, gateway: TlsGateway) -> None:
    """An ERP database that does not answer fails the database step, after the gateway steps passed."""
    config = write_tls_agent_config(tmp_path, gateway.address, gateway.ca_file, erp)
    dead = f"postgresql+psycopg://reader:pw@127.0.0.1:{free_port()}/erp"
    config.write_text(config.read_text().replace(f'url = "sqlite:///{erp / "erp.db"}"', f'url = "{dead}"'))
    out = io.StringIO()
    code = run_diagnose(config, as_json=True, out=out)
    steps = json.loads(out.getvalue())["steps"]
    step = failed(steps)
    assert code == 1 and step["step"] == "database" and "database.url" in step["fix"]
    assert next(s for s in steps if s["step"] == "tenant key")["status"] == "ok"


@pytest.mark.parametrize(("offset", "status"), [(0.012, "ok"), (-3.0, "ok"), (95.0, "fail"), (-400.0, "fail")])
def test_clock_offset_beyond_half_a_minute_fails_with_the_fix(offset: float, status: str) -> None:
    """An offset within 30 s passes with its value; a larger one fails, says which way and names time sync."""
    report = Steps(io.StringIO(), as_json=True)
    _clock(offset, report)
    (step,) = report.steps
    assert step["step"] == "clock offset" and step["status"] == status
    if status == "fail":
        assert ("behind" if offset > 0 else "ahead of") in step["detail"] and "set-ntp" in step["fix"]
