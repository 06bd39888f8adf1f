"""Protobuf wire helpers for the relay's hot path.

The gateway forwards a shop's request in the bytes it arrived in and hands the agent's answer back in the bytes
the agent sent, never re-encoding either: a length-delimited protobuf field holding a message is encoded exactly
like a ``bytes`` field, so encoded messages can be spliced into (and cut out of) ``AgentRequest`` /
``TunnelMessage`` / ``TunnelBundle`` by prefixing a tag and a length. These helpers do that. (The gateway does
decode a request once, for admission and the stock cache's key, and decodes the stock answers it caches; what it
forwards are still the original bytes.)
"""

from __future__ import annotations

from .calls import CALLS
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


_REQUEST_FIELD_NUMBER = {
    c.request_field: tunnel_pb2.AgentRequest.DESCRIPTOR.fields_by_name[c.request_field].number for c in CALLS
}
_RESPONSE_FIELD_NUMBER = {
    c.response_field: tunnel_pb2.AgentResponse.DESCRIPTOR.fields_by_name[c.response_field].number for c in CALLS
}
_MSG_REQUEST = tunnel_pb2.TunnelMessage.DESCRIPTOR.fields_by_name["request"].number
_MSG_RESPONSE = tunnel_pb2.TunnelMessage.DESCRIPTOR.fields_by_name["response"].number
_BUNDLE_MESSAGES = tunnel_pb2.TunnelBundle.DESCRIPTOR.fields_by_name["messages"].number


def call_field(request_field: str, encoded_request: bytes) -> bytes:
    """The ``AgentRequest.call`` oneof field ``request_field`` (e.g. ``get_order``) holding the shop's encoded
    request: appended to an encoded ``AgentRequest`` without it, it sets the call."""
    return field_bytes(_REQUEST_FIELD_NUMBER[request_field], encoded_request)


def request_message(call_id: int, header: bytes, request_field: str, encoded_request: bytes) -> bytes:
    """Builds an encoded TunnelMessage carrying an AgentRequest.

    Args:
        call_id: The gateway's call id.
        header: Encoded AgentRequest holding only the scalar fields (request id, deadline, shop, window).
        request_field: The ``AgentRequest.call`` oneof field, e.g. ``get_order``.
        encoded_request: The shop's request exactly as it arrived.
    """
    agent_request = header + call_field(request_field, encoded_request)
    return field_varint(1, call_id) + field_bytes(_MSG_REQUEST, agent_request)


def response_message(call_id: int, header: bytes, response_field: str, encoded_result: bytes) -> bytes:
    """Builds an encoded TunnelMessage carrying an AgentResponse whose result is already encoded."""
    agent_response = header + field_bytes(_RESPONSE_FIELD_NUMBER[response_field], encoded_result)
    return field_varint(1, call_id) + field_bytes(_MSG_RESPONSE, agent_response)


def bundle(messages: list[bytes]) -> bytes:
    """Builds an encoded TunnelBundle from encoded TunnelMessages."""
    return b"".join(field_bytes(_BUNDLE_MESSAGES, m) for m in messages)


def bundle_overhead(message_len: int) -> int:
    """Bytes a message of ``message_len`` bytes takes in a bundle (tag + length + message)."""
    return 1 + len(varint(message_len)) + message_len
