"""The gateway's ``[cluster]`` table: absent means single-process mode; present, it is validated and masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onlineconnect.errors import ConfigError
from onlineconnect.gateway.__main__ import main
from onlineconnect.gateway.config import load_gateway_config
from onlineconnect.gateway.server import GatewayServer
from onlineconnect.testing.processes import write_gateway_config


def _with_cluster(tmp_path: Path, table: str) -> Path:
    path = write_gateway_config(tmp_path, 50999)
    path.write_text(path.read_text() + "\n[cluster]\n" + table)
    return path


def test_without_a_cluster_table_the_gateway_runs_alone_and_needs_no_nats(tmp_path: Path) -> None:
    """No ``[cluster]``: the config has no cluster and the server builds no link to NATS."""
    config = load_gateway_config(write_gateway_config(tmp_path, 50999))
    assert config.cluster is None
    assert GatewayServer(config).cluster is None


def test_a_cluster_table_names_nats_and_the_replica(tmp_path: Path) -> None:
    """``nats`` and ``replica`` are read; several servers may be listed separated by commas."""
    config = load_gateway_config(
        _with_cluster(tmp_path, 'nats = "nats://10.0.0.1:4222, nats://10.0.0.2:4222"\nreplica = "gw-1"\n')
    )
    assert config.cluster is not None
    assert config.cluster.replica == "gw-1"
    assert config.cluster.servers == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
    assert config.cluster.subject_prefix == "onlineconnect"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('nats = "http://10.0.0.1:4222"\n', "cluster.nats"),
        ('replica = "gw-1"\n', "cluster.nats"),
        ('nats = "nats://127.0.0.1:4222"\nsubject_prefix = "a b"\n', "cluster.subject_prefix"),
        ('nats = "nats://127.0.0.1:4222"\nreplicas = "gw-1"\n', "cluster.replicas"),
    ],
)
def test_a_wrong_cluster_table_is_refused_naming_the_key(tmp_path: Path, table: str, key: str) -> None:
    """A wrong URL, a missing ``nats``, a bad prefix or an unknown key is an error naming file and key."""
    with pytest.raises(ConfigError) as e:
        load_gateway_config(_with_cluster(tmp_path, table))
    assert key in e.value.message
    assert "gateway.toml" in e.value.message


def test_print_config_masks_nats_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--print-config`` shows the NATS address without the user and password it may carry."""
    path = _with_cluster(tmp_path, 'nats = "nats://relay:s3cret-pw@10.0.0.1:4222"\nreplica = "gw-2"\n')
    assert main(["--config", str(path), "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    printed = json.loads(out)["cluster"]
    assert printed == {
        "nats": "nats://***@10.0.0.1:4222",
        "replica": "gw-2",
        "subject_prefix": "onlineconnect",
        "ping_interval_seconds": 1.0,
        "ping_timeout_seconds": 2.0,
        "warn_interval_seconds": 30.0,
    }
