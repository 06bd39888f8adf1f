import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Availability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AVAILABILITY_UNSPECIFIED: _ClassVar[Availability]
    AVAILABILITY_IN_STOCK: _ClassVar[Availability]
    AVAILABILITY_LOW_STOCK: _ClassVar[Availability]
    AVAILABILITY_OUT_OF_STOCK: _ClassVar[Availability]
    AVAILABILITY_DISPLAY_ONLY: _ClassVar[Availability]
AVAILABILITY_UNSPECIFIED: Availability
AVAILABILITY_IN_STOCK: Availability
AVAILABILITY_LOW_STOCK: Availability
AVAILABILITY_OUT_OF_STOCK: Availability
AVAILABILITY_DISPLAY_ONLY: Availability

class Location(_message.Message):
    __slots__ = ("latitude", "longitude", "postcode", "country")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    postcode: str
    country: str
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ..., postcode: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class GetStoreStockRequest(_message.Message):
    __slots__ = ("sku", "location", "radius_km", "max_stores", "only_available")
    SKU_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    RADIUS_KM_FIELD_NUMBER: _ClassVar[int]
    MAX_STORES_FIELD_NUMBER: _ClassVar[int]
    ONLY_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    location: Location
    radius_km: float
    max_stores: int
    only_available: bool
    def __init__(self, sku: _Optional[str] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., radius_km: _Optional[float] = ..., max_stores: _Optional[int] = ..., only_available: _Optional[bool] = ...) -> None: ...

class GetStoreStockResponse(_message.Message):
    __slots__ = ("article", "stores", "data_as_of", "from_cache", "stale")
    ARTICLE_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    DATA_AS_OF_FIELD_NUMBER: _ClassVar[int]
    FROM_CACHE_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    article: Article
    stores: _containers.RepeatedCompositeFieldContainer[StoreStock]
    data_as_of: _timestamp_pb2.Timestamp
    from_cache: bool
    stale: bool
    def __init__(self, article: _Optional[_Union[Article, _Mapping]] = ..., stores: _Optional[_Iterable[_Union[StoreStock, _Mapping]]] = ..., data_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_cache: _Optional[bool] = ..., stale: _Optional[bool] = ...) -> None: ...

class Article(_message.Message):
    __slots__ = ("sku", "article_number", "name", "colour", "size")
    SKU_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    article_number: str
    name: str
    colour: str
    size: str
    def __init__(self, sku: _Optional[str] = ..., article_number: _Optional[str] = ..., name: _Optional[str] = ..., colour: _Optional[str] = ..., size: _Optional[str] = ...) -> None: ...

class StoreStock(_message.Message):
    __slots__ = ("store", "quantity_available", "availability", "show_quantity", "pickup_possible", "distance_km")
    STORE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    AVAILABILITY_FIELD_NUMBER: _ClassVar[int]
    SHOW_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PICKUP_POSSIBLE_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_KM_FIELD_NUMBER: _ClassVar[int]
    store: Store
    quantity_available: int
    availability: Availability
    show_quantity: bool
    pickup_possible: bool
    distance_km: float
    def __init__(self, store: _Optional[_Union[Store, _Mapping]] = ..., quantity_available: _Optional[int] = ..., availability: _Optional[_Union[Availability, str]] = ..., show_quantity: _Optional[bool] = ..., pickup_possible: _Optional[bool] = ..., distance_km: _Optional[float] = ...) -> None: ...

class Store(_message.Message):
    __slots__ = ("store_id", "name", "street", "postcode", "city", "country", "phone", "latitude", "longitude", "opening_hours", "closing_days")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STREET_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    OPENING_HOURS_FIELD_NUMBER: _ClassVar[int]
    CLOSING_DAYS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    name: str
    street: str
    postcode: str
    city: str
    country: str
    phone: str
    latitude: float
    longitude: float
    opening_hours: _containers.RepeatedCompositeFieldContainer[OpeningHours]
    closing_days: _containers.RepeatedCompositeFieldContainer[ClosingDay]
    def __init__(self, store_id: _Optional[str] = ..., name: _Optional[str] = ..., street: _Optional[str] = ..., postcode: _Optional[str] = ..., city: _Optional[str] = ..., country: _Optional[str] = ..., phone: _Optional[str] = ..., latitude: _Optional[float] = ..., longitude: _Optional[float] = ..., opening_hours: _Optional[_Iterable[_Union[OpeningHours, _Mapping]]] = ..., closing_days: _Optional[_Iterable[_Union[ClosingDay, _Mapping]]] = ...) -> None: ...

class OpeningHours(_message.Message):
    __slots__ = ("weekday", "opens", "closes")
    WEEKDAY_FIELD_NUMBER: _ClassVar[int]
    OPENS_FIELD_NUMBER: _ClassVar[int]
    CLOSES_FIELD_NUMBER: _ClassVar[int]
    weekday: int
    opens: str
    closes: str
    def __init__(self, weekday: _Optional[int] = ..., opens: _Optional[str] = ..., closes: _Optional[str] = ...) -> None: ...

class ClosingDay(_message.Message):
    __slots__ = ("date", "reason")
    DATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    date: str
    reason: str
    def __init__(self, date: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class BatchGetStoreStockRequest(_message.Message):
    __slots__ = ("skus", "location", "radius_km", "max_stores", "only_available")
    SKUS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    RADIUS_KM_FIELD_NUMBER: _ClassVar[int]
    MAX_STORES_FIELD_NUMBER: _ClassVar[int]
    ONLY_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    location: Location
    radius_km: float
    max_stores: int
    only_available: bool
    def __init__(self, skus: _Optional[_Iterable[str]] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., radius_km: _Optional[float] = ..., max_stores: _Optional[int] = ..., only_available: _Optional[bool] = ...) -> None: ...

class BatchGetStoreStockResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[BatchStoreStockEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[BatchStoreStockEntry, _Mapping]]] = ...) -> None: ...

class BatchStoreStockEntry(_message.Message):
    __slots__ = ("sku", "code", "message", "stock")
    SKU_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STOCK_FIELD_NUMBER: _ClassVar[int]
    sku: str
    code: int
    message: str
    stock: GetStoreStockResponse
    def __init__(self, sku: _Optional[str] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., stock: _Optional[_Union[GetStoreStockResponse, _Mapping]] = ...) -> None: ...
