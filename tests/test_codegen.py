"""The generated gRPC code is in sync with the protos, and the package installs under one name."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from onlineconnect import _codegen

ROOT = Path(__file__).resolve().parent.parent


def test_generated_code_matches_protos(tmp_path: Path) -> None:
    """Regenerating from protos/ gives exactly the committed files in onlineconnect/v1 (run `make generate`):
    protobuf, gRPC and Connect modules, the descriptor set and the OpenAPI document."""
    fresh = {p.name: p.read_bytes() for p in _codegen.generate(tmp_path)}
    committed = {
        p.name: p.read_bytes()
        for p in (ROOT / "onlineconnect" / "v1").iterdir()
        if p.suffix in _codegen.GENERATED_SUFFIXES
    }
    assert {"orders_connect.py", "stock_connect.py", _codegen.OPENAPI} <= set(fresh)
    assert sorted(fresh) == sorted(committed)
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of sync with protos/, run `make generate`: {stale}"


def test_every_message_and_field_is_commented() -> None:
    """Every message, field, enum value, service and RPC in the protos has a comment a shop developer can act on."""
    missing = []
    for proto in sorted((ROOT / "protos" / "onlineconnect" / "v1").glob("*.proto")):
        lines = proto.read_text().splitlines()
        for i, line in enumerate(lines):
            s = line.strip()
            if not s or s.startswith(("//", "}", "syntax", "package", "import", "option", "oneof")):
                continue
            if s.startswith(("message ", "enum ", "service ", "rpc ")) or (s.endswith(";") and "=" in s):
                if not lines[i - 1].strip().startswith("//"):
                    missing.append(f"{proto.name}:{i + 1}: {s}")
    assert not missing, "uncommented:\n" + "\n".join(missing)


def test_installed_names_live_under_onlineconnect() -> None:
    """The distribution installs agent and gateway as onlineconnect.agent / onlineconnect.gateway, not top level."""
    assert importlib.util.find_spec("onlineconnect.agent") is not None
    assert importlib.util.find_spec("onlineconnect.gateway") is not None
    dist = importlib.metadata.distribution("onlineconnect")
    scripts = {ep.name for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts >= {"onlineconnect-gateway", "onlineconnect-agent", "onlineconnect"}
    top_level = {str(f).split("/")[0] for f in dist.files or [] if not str(f).startswith(("..", "onlineconnect-"))}
    assert "agent" not in top_level and "gateway" not in top_level
