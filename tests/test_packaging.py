"""Packaging: building the wheel and the editable wheel prints no warning, and every data file is installed.

The build runs on a copy of the source tree (setuptools writes `build/` and `*.egg-info` beside the sources) with the
development environment's setuptools, which satisfies the `build-system` pin, so no index is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What setuptools says when the project's own configuration is at fault: deprecations (the license table), data
# folders left out of `packages`, patterns that match nothing.
WARNING = re.compile(r"warn|would be ignored|deprecat", re.IGNORECASE)

# Data files that the processes read at run time, beside the Python modules.
DATA_FILES = (
    "onlineconnect/py.typed",
    "onlineconnect/v1/api.binpb",
    "onlineconnect/v1/openapi.json",
    "onlineconnect/v1/orders_pb2.pyi",
    "onlineconnect/agent/erp/mapping/orders.toml",
    "onlineconnect/agent/erp/mapping/stock.toml",
    "onlineconnect/agent/erp/demo/00_articles.sql",
    "onlineconnect/agent/erp/demo/10_orders.sql",
    "onlineconnect/agent/erp/demo/20_stock.sql",
    "onlineconnect/agent/stock/data/postcodes_de.csv",
    "onlineconnect/storefront/static/shop.css",
    "onlineconnect/storefront/templates/base.html",
    "onlineconnect/storefront/templates/order.html",
)
DATA_FOLDERS = ("agent/erp/mapping", "agent/erp/demo", "agent/stock/data", "storefront/templates", "storefront/static")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the build reads: pyproject.toml, README, LICENSE and the four source folders."""
    dst = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, dst / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("onlineconnect", "agent", "gateway", "storefront"):
        shutil.copytree(ROOT / folder, dst / folder, ignore=ignore)
    return dst


def build_env() -> dict[str, str]:
    """The environment without PYTHONDONTWRITEBYTECODE, which makes distutils warn that byte-compiling is off."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warnings_in(output: str) -> list[str]:
    return [line for line in output.splitlines() if WARNING.search(line)]


def test_setuptools_pin_reads_spdx_license() -> None:
    """The build-system pin asks for a setuptools that reads `license` as an SPDX string with `license-files`."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["build-system"]["requires"] == ["setuptools>=77"]
    assert isinstance(meta["project"]["license"], str)
    for pattern in meta["project"]["license-files"]:
        assert list(ROOT.glob(pattern)), pattern


def test_wheel_builds_without_warnings_and_carries_data(source: Path, tmp_path: Path) -> None:
    """`pip wheel .` (what `pip install .` runs) prints no warning, and the wheel holds every data file."""
    pip = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation"]
    done = subprocess.run(
        [*pip, "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        env=build_env(),
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert warnings_in(output) == []
    (wheel,) = tmp_path.glob("onlineconnect-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(DATA_FILES) <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # Every file of the data folders, not only the ones named above.
    for folder in DATA_FOLDERS:
        for path in (ROOT / folder).iterdir():
            if path.is_file() and path.suffix != ".py":
                assert f"onlineconnect/{folder}/{path.name}" in names


def test_editable_wheel_builds_without_warnings(source: Path, tmp_path: Path) -> None:
    """The PEP 660 hook that `pip install -e .` calls prints no warning."""
    code = "import sys, setuptools.build_meta as b; print(b.build_editable(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=source,
        capture_output=True,
        text=True,
        env=build_env(),
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert warnings_in(output) == []
    assert list(tmp_path.glob("onlineconnect-*.whl"))
