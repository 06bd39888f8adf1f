from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectRequest(_message.Message):
    __slots__ = ("hello", "sealed")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    hello: AgentHello
    sealed: SealedFrame
    def __init__(self, hello: _Optional[_Union[AgentHello, _Mapping]] = ..., sealed: _Optional[_Union[SealedFrame, _Mapping]] = ...) -> None: ...

class ConnectResponse(_message.Message):
    __slots__ = ("welcome", "sealed")
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    welcome: GatewayWelcome
    sealed: SealedFrame
    def __init__(self, welcome: _Optional[_Union[GatewayWelcome, _Mapping]] = ..., sealed: _Optional[_Union[SealedFrame, _Mapping]] = ...) -> None: ...

class AgentHello(_message.Message):
    __slots__ = ("tenant", "agent_id", "key_id", "agent_nonce", "protocol_version", "agent_version")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_NONCE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    agent_id: str
    key_id: int
    agent_nonce: bytes
    protocol_version: int
    agent_version: str
    def __init__(self, tenant: _Optional[str] = ..., agent_id: _Optional[str] = ..., key_id: _Optional[int] = ..., agent_nonce: _Optional[bytes] = ..., protocol_version: _Optional[int] = ..., agent_version: _Optional[str] = ...) -> None: ...

class GatewayWelcome(_message.Message):
    __slots__ = ("session_id", "gateway_nonce", "key_id", "max_frame_bytes", "gateway_time_unix_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_NONCE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    GATEWAY_TIME_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    gateway_nonce: bytes
    key_id: int
    max_frame_bytes: int
    gateway_time_unix_ms: int
    def __init__(self, session_id: _Optional[str] = ..., gateway_nonce: _Optional[bytes] = ..., key_id: _Optional[int] = ..., max_frame_bytes: _Optional[int] = ..., gateway_time_unix_ms: _Optional[int] = ...) -> None: ...

class SealedFrame(_message.Message):
    __slots__ = ("key_id", "epoch", "seq", "ciphertext", "tag", "more")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CIPHERTEXT_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    key_id: int
    epoch: int
    seq: int
    ciphertext: bytes
    tag: bytes
    more: bool
    def __init__(self, key_id: _Optional[int] = ..., epoch: _Optional[int] = ..., seq: _Optional[int] = ..., ciphertext: _Optional[bytes] = ..., tag: _Optional[bytes] = ..., more: _Optional[bool] = ...) -> None: ...

class TunnelBundle(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[TunnelMessage]
    def __init__(self, messages: _Optional[_Iterable[_Union[TunnelMessage, _Mapping]]] = ...) -> None: ...

class TunnelMessage(_message.Message):
    __slots__ = ("call_id", "request", "response", "cancel", "ready", "drain", "window_update")
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    WINDOW_UPDATE_FIELD_NUMBER: _ClassVar[int]
    call_id: int
    request: AgentRequest
    response: AgentResponse
    cancel: CancelCall
    ready: TunnelReady
    drain: Drain
    window_update: WindowUpdate
    def __init__(self, call_id: _Optional[int] = ..., request: _Optional[_Union[AgentRequest, _Mapping]] = ..., response: _Optional[_Union[AgentResponse, _Mapping]] = ..., cancel: _Optional[_Union[CancelCall, _Mapping]] = ..., ready: _Optional[_Union[TunnelReady, _Mapping]] = ..., drain: _Optional[_Union[Drain, _Mapping]] = ..., window_update: _Optional[_Union[WindowUpdate, _Mapping]] = ...) -> None: ...

class AgentRequest(_message.Message):
    __slots__ = ("request_id", "deadline_ms", "shop", "initial_window", "method", "request")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    SHOP_FIELD_NUMBER: _ClassVar[int]
    INITIAL_WINDOW_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    deadline_ms: int
    shop: str
    initial_window: int
    method: str
    request: bytes
    def __init__(self, request_id: _Optional[str] = ..., deadline_ms: _Optional[int] = ..., shop: _Optional[str] = ..., initial_window: _Optional[int] = ..., method: _Optional[str] = ..., request: _Optional[bytes] = ...) -> None: ...

class AgentResponse(_message.Message):
    __slots__ = ("code", "message", "final", "result")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    final: bool
    result: bytes
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., final: _Optional[bool] = ..., result: _Optional[bytes] = ...) -> None: ...

class CancelCall(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TunnelReady(_message.Message):
    __slots__ = ("protocol_version",)
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    def __init__(self, protocol_version: _Optional[int] = ...) -> None: ...

class Drain(_message.Message):
    __slots__ = ("reason", "avoid_seconds")
    REASON_FIELD_NUMBER: _ClassVar[int]
    AVOID_SECONDS_FIELD_NUMBER: _ClassVar[int]
    reason: str
    avoid_seconds: int
    def __init__(self, reason: _Optional[str] = ..., avoid_seconds: _Optional[int] = ...) -> None: ...

class WindowUpdate(_message.Message):
    __slots__ = ("credits",)
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    credits: int
    def __init__(self, credits: _Optional[int] = ...) -> None: ...
