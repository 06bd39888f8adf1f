"""The audit log is private to the agent's user: file 0600 in a directory 0700, checked when the agent starts."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from onlineconnect.agent import audit
from onlineconnect.testing.processes import BIN, free_port, write_agent_config

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX mode bits; Windows relies on the folder's ACL")


def mode(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Umask 000 for the test, so nothing comes out private by accident of the environment."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def record(log: audit.AuditLog) -> None:
    """Appends one record."""
    log.record(tenant="acme", shop="s", rpc="GetOrder", customer="4711", code="OK", ms=1.0, request_id="r")


def test_new_audit_file_is_0600_in_a_new_0700_directory(tmp_path: Path, permissive_umask: None) -> None:
    """Created by the agent, the directory is 0700 and the file 0600 even with umask 000."""
    path = tmp_path / "audit" / "audit.jsonl"
    log = audit.AuditLog(path)
    record(log)
    log.close()
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600


def test_existing_private_file_is_appended_to(tmp_path: Path) -> None:
    """A 0600 file in a 0700 directory is accepted and its chain continues."""
    folder = tmp_path / "audit"
    folder.mkdir(mode=0o700)
    path = folder / "audit.jsonl"
    for _ in range(2):
        log = audit.AuditLog(path)
        record(log)
        log.close()
    assert audit.verify(path).records == 2
    assert mode(path) == 0o600


@pytest.mark.parametrize("dir_mode", [pytest.param(m, id=f"{m:04o}") for m in (0o755, 0o750, 0o701, 0o777)])
def test_directory_open_to_others_is_refused_and_left_alone(tmp_path: Path, dir_mode: int) -> None:
    """A directory with any group or other bit makes the agent refuse, naming the path and the fix; nothing changes."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(dir_mode)
    with pytest.raises(audit.AuditPermissionError) as info:
        audit.AuditLog(folder / "audit.jsonl")
    assert str(folder) in info.value.strerror and f"chmod 700 {folder}" in info.value.strerror
    assert mode(folder) == dir_mode
    assert not (folder / "audit.jsonl").exists()


def test_existing_file_open_to_others_is_refused(tmp_path: Path) -> None:
    """An existing audit file readable by group or others is refused, naming it and the fix."""
    folder = tmp_path / "audit"
    folder.mkdir(mode=0o700)
    path = folder / "audit.jsonl"
    path.write_text("")
    path.chmod(0o644)
    with pytest.raises(audit.AuditPermissionError) as info:
        audit.AuditLog(path)
    assert f"chmod 600 {path}" in info.value.strerror
    assert mode(path) == 0o644


def test_agent_refuses_to_start_with_a_shared_audit_directory(tmp_path: Path) -> None:
    """`onlineconnect-agent` exits 2 before dialling out, its error naming the audit directory and the chmod."""
    folder = tmp_path / "logs"
    folder.mkdir()
    folder.chmod(0o755)
    erp = tmp_path / "erp"  # never opened: the audit check comes first
    config = write_agent_config(tmp_path, free_port(), erp, extra=f'[audit]\nfile = "{folder / "audit.jsonl"}"\n')
    result = subprocess.run(
        [str(BIN / "onlineconnect-agent"), "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert f"chmod 700 {folder}" in result.stderr
    assert not (folder / "audit.jsonl").exists()
