"""The wire helpers splice encoded messages into tunnel messages exactly as protobuf would encode them."""

from __future__ import annotations

from onlineconnect import wire
from onlineconnect.calls import CALLS
from onlineconnect.v1 import tunnel_pb2


def test_call_field_sets_the_agent_request_oneof_for_every_call() -> None:
    """Header plus call_field decodes as an AgentRequest whose ``call`` oneof holds the shop's request unchanged."""
    header = tunnel_pb2.AgentRequest(request_id="r-1", shop="shop", deadline_ms=1500).SerializeToString()
    for call in CALLS:
        shop_request = call.request_type().SerializeToString()  # the empty request: still a set oneof member
        decoded = tunnel_pb2.AgentRequest.FromString(header + wire.call_field(call.request_field, shop_request))
        assert decoded.WhichOneof("call") == call.request_field
        assert getattr(decoded, call.request_field).SerializeToString() == shop_request
        assert decoded.request_id == "r-1" and decoded.deadline_ms == 1500


def test_request_message_carries_the_call_id_and_the_call() -> None:
    """request_message builds the TunnelMessage the agent decodes: call id and AgentRequest with the call set."""
    call = CALLS[0]
    msg = tunnel_pb2.TunnelMessage.FromString(wire.request_message(7, b"", call.request_field, b""))
    assert msg.call_id == 7 and msg.request.WhichOneof("call") == call.request_field
