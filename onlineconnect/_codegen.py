"""Generate the Python protobuf and gRPC modules (and the descriptor set) in ``onlineconnect/v1`` from ``protos/``.

Run through ``make generate``. ``tests/test_codegen.py`` generates into a temporary folder and fails if the
committed modules differ, so the protos and the code cannot drift apart.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PROTO_DIR = PROTO_ROOT / "onlineconnect" / "v1"
DESCRIPTOR_SET = "api.binpb"  # FileDescriptorSet of the API with comments, served by the gateway's reflection


def proto_files() -> list[Path]:
    """Returns the API's proto files in a stable order."""
    return sorted(PROTO_DIR.glob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Generates ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` under ``out_dir/onlineconnect/v1``.

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
    init = target / "__init__.py"
    init.write_text('"""Generated protobuf and gRPC modules of the onlineconnect.v1 API (do not edit)."""\n')
    return sorted(p for p in target.iterdir() if p.suffix in {".py", ".pyi", ".binpb"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="folder that plays the repository root")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
