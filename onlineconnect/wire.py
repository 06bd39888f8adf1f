"""Protobuf wire helpers for the relay's hot path.

The gateway forwards a shop's request in the bytes it arrived in and hands the agent's answer back in the bytes
the agent sent, never re-encoding either: a length-delimited protobuf field holding a message is encoded exactly
like a ``bytes`` field, so encoded messages can be spliced into ``AgentRequest`` / ``AgentResponse`` /
``TunnelMessage`` / ``TunnelBundle`` by prefixing a tag and a length. These helpers do that; the field numbers come
from the generated descriptors, never typed here. (The gateway does decode a request once, for admission and the
stock cache's key, and decodes the stock answers it caches; what it forwards are still the original bytes.)
"""

from __future__ import annotations

from google.protobuf.message import Message

from .v1 import tunnel_pb2


def varint(value: int) -> bytes:
    """Encodes a non-negative integer as a protobuf varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field_bytes(number: int, payload: bytes) -> bytes:
    """Encodes a length-delimited field (bytes, string or message) with field number ``number``."""
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def field_varint(number: int, value: int) -> bytes:
    """Encodes a varint field with field number ``number``."""
    return varint(number << 3) + varint(value)


def _number(message: type[Message], name: str) -> int:
    number: int = message.DESCRIPTOR.fields_by_name[name].number
    return number


_METHOD = _number(tunnel_pb2.AgentRequest, "method")
_REQUEST = _number(tunnel_pb2.AgentRequest, "request")
_RESULT = _number(tunnel_pb2.AgentResponse, "result")
_MSG_CALL_ID = _number(tunnel_pb2.TunnelMessage, "call_id")
_MSG_REQUEST = _number(tunnel_pb2.TunnelMessage, "request")
_MSG_RESPONSE = _number(tunnel_pb2.TunnelMessage, "response")
_BUNDLE_MESSAGES = _number(tunnel_pb2.TunnelBundle, "messages")


def method_field(path: str) -> bytes:
    """The ``AgentRequest.method`` field naming the RPC ``path`` (``/onlineconnect.v1.OrderService/GetOrder``);
    encoded once per RPC when the calls table is built."""
    return field_bytes(_METHOD, path.encode())


def call_request(header: bytes, method: bytes, encoded_request: bytes) -> bytes:
    """An encoded ``AgentRequest``.

    Args:
        header: Encoded AgentRequest holding only the scalar fields (request id, deadline, shop, window).
        method: The RPC's :func:`method_field`.
        encoded_request: The shop's request exactly as it arrived.
    """
    return header + method + field_bytes(_REQUEST, encoded_request)


def request_message(call_id: int, header: bytes, method: bytes, encoded_request: bytes) -> bytes:
    """Builds an encoded TunnelMessage carrying an AgentRequest (arguments as :func:`call_request`)."""
    agent_request = call_request(header, method, encoded_request)
    return field_varint(_MSG_CALL_ID, call_id) + field_bytes(_MSG_REQUEST, agent_request)


def response_message(call_id: int, header: bytes, encoded_result: bytes) -> bytes:
    """Builds an encoded TunnelMessage carrying an AgentResponse whose result is already encoded."""
    agent_response = header + field_bytes(_RESULT, encoded_result)
    return field_varint(_MSG_CALL_ID, call_id) + field_bytes(_MSG_RESPONSE, agent_response)


def bundle(messages: list[bytes]) -> bytes:
    """Builds an encoded TunnelBundle from encoded TunnelMessages."""
    return b"".join(field_bytes(_BUNDLE_MESSAGES, m) for m in messages)


def bundle_overhead(message_len: int) -> int:
    """Bytes a message of ``message_len`` bytes takes in a bundle (tag + length + message)."""
    return 1 + len(varint(message_len)) + message_len
