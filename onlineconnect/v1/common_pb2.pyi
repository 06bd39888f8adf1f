from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Language(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LANGUAGE_UNSPECIFIED: _ClassVar[Language]
    LANGUAGE_DE: _ClassVar[Language]
    LANGUAGE_EN: _ClassVar[Language]
LANGUAGE_UNSPECIFIED: Language
LANGUAGE_DE: Language
LANGUAGE_EN: Language

class Money(_message.Message):
    __slots__ = ("amount_minor", "currency", "decimal")
    AMOUNT_MINOR_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DECIMAL_FIELD_NUMBER: _ClassVar[int]
    amount_minor: int
    currency: str
    decimal: str
    def __init__(self, amount_minor: _Optional[int] = ..., currency: _Optional[str] = ..., decimal: _Optional[str] = ...) -> None: ...
