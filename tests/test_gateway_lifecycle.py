"""The gateway's life cycle has one owner: a reload reaches every door, and no gateway module imports another
that imports it back (issue: one home per concern)."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from pathlib import Path

from support.http_stack import http_relay

from onlineconnect.testing import SHOP_KEY
from onlineconnect.testing.fakes import FakeHandlers

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "onlineconnect": ROOT / "onlineconnect",
    "onlineconnect.agent": ROOT / "agent",
    "onlineconnect.gateway": ROOT / "gateway",
    "onlineconnect.storefront": ROOT / "storefront",
}


async def test_a_reloaded_http_read_timeout_reaches_the_http_door() -> None:
    """After a reload that shortens ``[http] read_timeout_seconds`` from 10 s to 0.2 s, a request whose body never
    arrives is refused 408 naming 0.2 s: the HTTP door reads the one running configuration, not a copy from its
    start."""
    async with http_relay(FakeHandlers()) as stack:
        gateway = stack.gateway
        assert gateway.config.http is not None and gateway.config.http.read_timeout == 10.0
        shorter = dataclasses.replace(gateway.config.http, read_timeout=0.2)
        gateway.apply_config(dataclasses.replace(gateway.config, http=shorter))
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.http_port)
        head = (
            "POST /onlineconnect.v1.OrderService/GetOrder HTTP/1.1\r\nHost: gateway\r\n"
            f"Authorization: Bearer {SHOP_KEY}\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"
            '{"customer_number": '
        )
        writer.write(head.encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"did not arrive within 0.2 s" in answer


def module_graph() -> dict[str, set[str]]:
    """Every project module and the project modules it imports, including imports under ``TYPE_CHECKING``."""
    files: dict[str, Path] = {}
    for package, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            if "v1" in path.relative_to(root).parts:
                continue  # generated code
            parts = [p for p in path.relative_to(root).with_suffix("").parts if p != "__init__"]
            files[".".join([package, *parts])] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    target = sub if sub in files else module
                    if target in files and target != name:
                        deps.add(target)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files and a.name != name)
        graph[name] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_two_modules_import_each_other_directly_or_through_others() -> None:
    """No import cycle anywhere in the project's code, counting imports made only for type checking."""
    graph = module_graph()
    assert len(graph) > 80
    assert "onlineconnect.gateway.drain" in graph["onlineconnect.gateway.server"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check above can fail: a TYPE_CHECKING import of the server from the drain module is a cycle."""
    graph = module_graph()
    graph["onlineconnect.gateway.drain"].add("onlineconnect.gateway.server")
    assert ["onlineconnect.gateway.drain", "onlineconnect.gateway.server"] in cycles(graph)
