"""Generate the code in ``onlineconnect/v1`` from ``protos/``: protobuf and gRPC modules, the descriptor set, the
Connect protocol modules of the shop services and the OpenAPI document of the HTTP/JSON API.

Run through ``make generate``. ``tests/test_codegen.py`` generates into a temporary folder and fails if the
committed files differ, so the protos and the code cannot drift apart.

The Connect modules (``*_connect.py``) come from ``protoc-gen-connectrpc``, the code generator of the
``connectrpc`` package (a development dependency, pinned with it), for google.protobuf messages and asyncio only;
the gateway's HTTP listener serves them. Only the shop-facing protos get them: the tunnel is gRPC only.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from . import _openapi

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PROTO_DIR = PROTO_ROOT / "onlineconnect" / "v1"
DESCRIPTOR_SET = "api.binpb"  # FileDescriptorSet of the API with comments, served by the gateway's reflection
OPENAPI = "openapi.json"  # the HTTP/JSON API's OpenAPI document, served by the gateway's HTTP listener
CONNECT_PROTOS = ("orders.proto", "stock.proto")  # the shop services, served over the Connect protocol too
GENERATED_SUFFIXES = frozenset({".py", ".pyi", ".binpb", ".json"})


def proto_files() -> list[Path]:
    """Returns the API's proto files in a stable order."""
    return sorted(PROTO_DIR.glob("*.proto"))


def _connect_plugin() -> Path:
    """The ``protoc-gen-connectrpc`` executable installed beside this Python."""
    plugin = Path(sys.executable).parent / "protoc-gen-connectrpc"
    if not plugin.exists():
        raise RuntimeError(f"{plugin} is missing: install the development tools (pip install -e '.[dev]')")
    return plugin


def generate(out_dir: Path) -> list[Path]:
    """Generates ``*_pb2.py``, ``*_pb2.pyi``, ``*_pb2_grpc.py``, ``*_connect.py``, the descriptor set and the OpenAPI
    document under ``out_dir/onlineconnect/v1``.

    Args:
        out_dir: Folder that takes the role of the repository root.

    Returns:
        The generated files.

    Raises:
        RuntimeError: protoc reported an error.
    """
    from grpc_tools import protoc

    well_known = str(resources.files("grpc_tools") / "_proto")
    target = out_dir / "onlineconnect" / "v1"
    target.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        # With comments (source info), so that grpcurl describe shows the documentation through reflection.
        "--include_source_info",
        "--include_imports",
        f"--descriptor_set_out={target / DESCRIPTOR_SET}",
        *(str(p.relative_to(PROTO_ROOT)) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    connect_args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-connectrpc={_connect_plugin()}",
        "--connectrpc_opt=protobuf=google,io=async",
        f"--connectrpc_out={out_dir}",
        *(str((PROTO_DIR / name).relative_to(PROTO_ROOT)) for name in CONNECT_PROTOS),
    ]
    if protoc.main(connect_args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(connect_args))
    document = _openapi.build((target / DESCRIPTOR_SET).read_bytes())
    (target / OPENAPI).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    init = target / "__init__.py"
    init.write_text('"""Generated modules of the onlineconnect.v1 API and its OpenAPI document (do not edit)."""\n')
    return sorted(p for p in target.iterdir() if p.suffix in GENERATED_SUFFIXES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="folder that plays the repository root")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
