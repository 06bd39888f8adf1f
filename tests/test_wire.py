"""The wire helpers splice encoded messages into tunnel messages exactly as protobuf would encode them."""

from __future__ import annotations

from onlineconnect import wire
from onlineconnect.calls import CALLS
from onlineconnect.v1 import tunnel_pb2


def test_call_request_names_the_method_and_carries_the_request_for_every_call() -> None:
    """Header, method field and request decode as an AgentRequest naming the RPC's path, the request unchanged."""
    header = tunnel_pb2.AgentRequest(request_id="r-1", shop="shop", deadline_ms=1500).SerializeToString()
    for call in CALLS:
        shop_request = call.request_type().SerializeToString() + b"\xfa\x3f\x044711"  # an unknown field: still kept
        decoded = tunnel_pb2.AgentRequest.FromString(wire.call_request(header, call.method_field, shop_request))
        assert decoded.method == call.path
        assert decoded.request == shop_request
        assert call.request_type.FromString(decoded.request) == call.request_type.FromString(shop_request)
        assert decoded.request_id == "r-1" and decoded.deadline_ms == 1500


def test_request_message_carries_the_call_id_and_the_call() -> None:
    """request_message builds the TunnelMessage the agent decodes: call id and AgentRequest with method and request."""
    call = CALLS[0]
    msg = tunnel_pb2.TunnelMessage.FromString(wire.request_message(7, b"", call.method_field, b"\x0a\x01x"))
    assert msg.call_id == 7 and msg.request.method == call.path and msg.request.request == b"\x0a\x01x"


def test_response_message_carries_the_encoded_result() -> None:
    """response_message splices the encoded result into AgentResponse.result after the status header."""
    header = tunnel_pb2.AgentResponse(code=0, final=True).SerializeToString()
    msg = tunnel_pb2.TunnelMessage.FromString(wire.response_message(9, header, b"\x0a\x03abc"))
    assert msg.call_id == 9 and msg.response.final and msg.response.result == b"\x0a\x03abc"
