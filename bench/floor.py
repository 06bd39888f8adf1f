"""The floor: the least any relay over one outbound bidirectional gRPC stream can cost, measured beside ours.

A bare forwarder with the relay's shape and nothing else: no authentication, no envelope (no Blowfish, no HMAC),
no admission, no flow control, no metrics. ``make bench`` runs it in the same run as the relay and the direct
baseline, so ``project overhead = relay - floor`` is what our gateway and agent add on top of the unavoidable
second gRPC hop in Python.

* ``floor gateway`` serves every shop RPC of the calls table as raw bytes (generic handlers, no decoding) and the
  tunnel method ``/floor.Tunnel/Open`` on the same port; each shop call becomes one frame with a call id.
* ``floor agent`` dials the gateway, opens one stream and answers each frame in its own task by calling the same
  agent :class:`~onlineconnect.agent.handlers.Handlers` the direct baseline serves; so floor = direct's work + a
  bare forwarding hop.

Frames (both directions) are ``call id (u32) | kind (u8) | method index (u8) | payload``. Kinds: request (the
payload starts with the caller's remaining seconds as a float32), answer, chunk, end of stream, error (status
code u8 + message). One writer task per side owns the stream's writes.

    python bench/floor.py gateway --listen 127.0.0.1:50061
    python bench/floor.py agent --config agent.toml --gateway 127.0.0.1:50061
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import signal
import struct
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc

from onlineconnect.calls import CALLS, Call

TUNNEL_PATH = "/floor.Tunnel/Open"
HEADER = struct.Struct(">IBB")
REQUEST, ANSWER, CHUNK, END, ERROR = range(5)
METHOD_INDEX = {call.path: i for i, call in enumerate(CALLS)}


def frame(call_id: int, kind: int, method: int, payload: bytes = b"") -> bytes:
    """One tunnel frame."""
    return HEADER.pack(call_id, kind, method) + payload


def _raw(x: bytes) -> bytes:
    return x


class FloorGateway(grpc.GenericRpcHandler):
    """Shop calls in, one frame each over the single agent stream, answers back by call id."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._out: asyncio.Queue[bytes] | None = None
        self._waiting: dict[int, asyncio.Queue[tuple[int, bytes]]] = {}
        self.connected = asyncio.Event()

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method: str = details.method  # type: ignore[attr-defined]
        if method == TUNNEL_PATH:
            return grpc.stream_stream_rpc_method_handler(self._tunnel, _raw, _raw)
        index = METHOD_INDEX.get(method)
        if index is None:
            return None
        if CALLS[index].streaming:
            return grpc.unary_stream_rpc_method_handler(self._stream(index), _raw, _raw)
        return grpc.unary_unary_rpc_method_handler(self._unary(index), _raw, _raw)

    async def _send(self, index: int, request: bytes, ctx: grpc.aio.ServicerContext) -> tuple[int, Any]:
        if self._out is None:
            await ctx.abort(grpc.StatusCode.UNAVAILABLE, "no agent")
        call_id = next(self._ids)
        answers: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self._waiting[call_id] = answers
        remaining = ctx.time_remaining() or 30.0
        self._out.put_nowait(frame(call_id, REQUEST, index, struct.pack(">f", remaining) + request))  # type: ignore[union-attr]
        return call_id, answers

    @staticmethod
    async def _fail(payload: bytes, ctx: grpc.aio.ServicerContext) -> None:
        code = next(c for c in grpc.StatusCode if c.value[0] == payload[0])
        await ctx.abort(code, payload[1:].decode())

    def _unary(self, index: int) -> Any:
        async def handle(request: bytes, ctx: grpc.aio.ServicerContext) -> bytes:
            call_id, answers = await self._send(index, request, ctx)
            try:
                kind, payload = await answers.get()
            finally:
                self._waiting.pop(call_id, None)
            if kind == ERROR:
                await self._fail(payload, ctx)
            return payload

        return handle

    def _stream(self, index: int) -> Any:
        async def handle(request: bytes, ctx: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            call_id, answers = await self._send(index, request, ctx)
            try:
                while True:
                    kind, payload = await answers.get()
                    if kind == END:
                        return
                    if kind == ERROR:
                        await self._fail(payload, ctx)
                    yield payload
            finally:
                self._waiting.pop(call_id, None)

        return handle

    async def _tunnel(self, requests: AsyncIterator[bytes], ctx: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        out: asyncio.Queue[bytes] = asyncio.Queue()
        self._out = out

        async def read() -> None:
            async for data in requests:
                call_id, kind, _ = HEADER.unpack_from(data)
                waiting = self._waiting.get(call_id)
                if waiting is not None:
                    waiting.put_nowait((kind, data[HEADER.size :]))

        reader = asyncio.create_task(read())
        self.connected.set()
        try:
            while not reader.done():
                get = asyncio.ensure_future(out.get())
                done, _ = await asyncio.wait({get, reader}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    break
                yield get.result()
        finally:
            reader.cancel()
            if self._out is out:
                self._out = None


async def serve_gateway(listen: str) -> None:
    """Serves the floor gateway on ``listen`` until SIGTERM."""
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((FloorGateway(),))
    server.add_insecure_port(listen)
    await server.start()
    print(f"floor gateway on {listen}", flush=True)
    await _until_term()
    await server.stop(0.5)


async def serve_agent(config_path: str, gateway: str) -> None:
    """Dials ``gateway`` and answers every frame with the agent's handlers on the config's database."""
    from pathlib import Path

    from onlineconnect.agent.app import open_handlers
    from onlineconnect.agent.config import load_agent_config
    from onlineconnect.agent.context import CallContext
    from onlineconnect.errors import OnlineConnectError

    config = load_agent_config(Path(config_path))
    _db, handlers = open_handlers(config)
    out: asyncio.Queue[bytes] = asyncio.Queue()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(call_id: int, index: int, payload: bytes) -> None:
        call: Call = CALLS[index]
        (remaining,) = struct.unpack_from(">f", payload)
        request = call.request_type.FromString(payload[4:])
        ctx = CallContext.with_timeout(config.tenant, remaining, shop="floor")
        try:
            if call.streaming:
                async for chunk in handlers.stream(call, request, ctx):
                    out.put_nowait(frame(call_id, CHUNK, index, chunk.SerializeToString()))
                out.put_nowait(frame(call_id, END, index))
            else:
                result = await handlers.unary(call, request, ctx)
                out.put_nowait(frame(call_id, ANSWER, index, result.SerializeToString()))
        except OnlineConnectError as exc:
            out.put_nowait(frame(call_id, ERROR, index, bytes([exc.code.value[0]]) + exc.message.encode()))

    async def writes() -> AsyncIterator[bytes]:
        while True:
            yield await out.get()

    async with grpc.aio.insecure_channel(gateway) as channel:
        stream = channel.stream_stream(TUNNEL_PATH, request_serializer=_raw, response_deserializer=_raw)
        call = stream(writes())
        print(f"floor agent connected to {gateway}", flush=True)
        reader = asyncio.ensure_future(_read(call, answer, tasks))
        term = asyncio.ensure_future(_until_term())
        await asyncio.wait({reader, term}, return_when=asyncio.FIRST_COMPLETED)
        for t in (reader, term, *tasks):
            t.cancel()
        call.cancel()
    handlers.close()


async def _read(call: Any, answer: Any, tasks: set[asyncio.Task[None]]) -> None:
    async for data in call:
        call_id, kind, index = HEADER.unpack_from(data)
        if kind == REQUEST:
            task = asyncio.create_task(answer(call_id, index, data[HEADER.size :]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)


async def _until_term() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def wait_ready(address: str, timeout: float = 30) -> None:
    """Waits until a GetOrder through the floor at ``address`` gets any answer from the agent (not UNAVAILABLE)."""
    import time

    from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

    request = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as ch:
        stub = orders_pb2_grpc.OrderServiceStub(ch)
        while time.monotonic() < deadline:
            try:
                stub.GetOrder(request, timeout=2)
                return
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:  # type: ignore[attr-defined]
                    return
            time.sleep(0.1)
    raise TimeoutError(f"the floor on {address} has no agent after {timeout} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role", required=True)
    gw = sub.add_parser("gateway", help="shop port and tunnel method on one loopback port")
    gw.add_argument("--listen", default="127.0.0.1:50061")
    ag = sub.add_parser("agent", help="dial the floor gateway and answer from the ERP in the agent config")
    ag.add_argument("--config", required=True)
    ag.add_argument("--gateway", default="127.0.0.1:50061")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        if args.role == "gateway":
            asyncio.run(serve_gateway(args.listen))
        else:
            asyncio.run(serve_agent(args.config, args.gateway))
    return 0


if __name__ == "__main__":
    sys.exit(main())
