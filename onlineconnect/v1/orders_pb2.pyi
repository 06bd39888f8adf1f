import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from onlineconnect.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WEB: _ClassVar[Channel]
    CHANNEL_PHONE: _ClassVar[Channel]
    CHANNEL_LETTER: _ClassVar[Channel]
    CHANNEL_FAX: _ClassVar[Channel]
    CHANNEL_STORE: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_MARKETPLACE: _ClassVar[Channel]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_RECEIVED: _ClassVar[OrderStatus]
    ORDER_STATUS_ON_HOLD: _ClassVar[OrderStatus]
    ORDER_STATUS_IN_PROCESSING: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_DELIVERED: _ClassVar[OrderStatus]
    ORDER_STATUS_SHIPPED: _ClassVar[OrderStatus]
    ORDER_STATUS_DELIVERED: _ClassVar[OrderStatus]
    ORDER_STATUS_RETURN_IN_PROGRESS: _ClassVar[OrderStatus]
    ORDER_STATUS_RETURNED: _ClassVar[OrderStatus]
    ORDER_STATUS_EXCHANGE_SHIPPED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_BACKORDERED: _ClassVar[OrderStatus]

class LineType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINE_TYPE_UNSPECIFIED: _ClassVar[LineType]
    LINE_TYPE_PRODUCT: _ClassVar[LineType]
    LINE_TYPE_SHIPPING_FEE: _ClassVar[LineType]
    LINE_TYPE_SURCHARGE: _ClassVar[LineType]
    LINE_TYPE_VOUCHER: _ClassVar[LineType]
    LINE_TYPE_FREE_ITEM: _ClassVar[LineType]
    LINE_TYPE_CATALOGUE: _ClassVar[LineType]
    LINE_TYPE_SERVICE: _ClassVar[LineType]

class LineStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINE_STATUS_UNSPECIFIED: _ClassVar[LineStatus]
    LINE_STATUS_OPEN: _ClassVar[LineStatus]
    LINE_STATUS_AVAILABLE: _ClassVar[LineStatus]
    LINE_STATUS_BACKORDERED: _ClassVar[LineStatus]
    LINE_STATUS_PARTIALLY_SHIPPED: _ClassVar[LineStatus]
    LINE_STATUS_SHIPPED: _ClassVar[LineStatus]
    LINE_STATUS_DELIVERED: _ClassVar[LineStatus]
    LINE_STATUS_CANCELLED: _ClassVar[LineStatus]
    LINE_STATUS_PARTIALLY_RETURNED: _ClassVar[LineStatus]
    LINE_STATUS_RETURNED: _ClassVar[LineStatus]
    LINE_STATUS_RETURN_REQUESTED: _ClassVar[LineStatus]

class ShipmentDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SHIPMENT_DIRECTION_UNSPECIFIED: _ClassVar[ShipmentDirection]
    SHIPMENT_DIRECTION_OUTBOUND: _ClassVar[ShipmentDirection]
    SHIPMENT_DIRECTION_RETURN: _ClassVar[ShipmentDirection]

class DocumentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_TYPE_UNSPECIFIED: _ClassVar[DocumentType]
    DOCUMENT_TYPE_INVOICE: _ClassVar[DocumentType]
    DOCUMENT_TYPE_CREDIT_NOTE: _ClassVar[DocumentType]

class ReturnState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETURN_STATE_UNSPECIFIED: _ClassVar[ReturnState]
    RETURN_STATE_REQUESTED: _ClassVar[ReturnState]
    RETURN_STATE_AUTHORIZED: _ClassVar[ReturnState]
    RETURN_STATE_RECEIVED: _ClassVar[ReturnState]
    RETURN_STATE_COMPLETED: _ClassVar[ReturnState]
    RETURN_STATE_REJECTED: _ClassVar[ReturnState]
    RETURN_STATE_CANCELLED: _ClassVar[ReturnState]

class ReturnResolution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RETURN_RESOLUTION_UNSPECIFIED: _ClassVar[ReturnResolution]
    RETURN_RESOLUTION_REFUND: _ClassVar[ReturnResolution]
    RETURN_RESOLUTION_CREDIT_NOTE: _ClassVar[ReturnResolution]
    RETURN_RESOLUTION_REPLACEMENT: _ClassVar[ReturnResolution]

class OrderFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_FILTER_UNSPECIFIED: _ClassVar[OrderFilter]
    ORDER_FILTER_OPEN: _ClassVar[OrderFilter]
    ORDER_FILTER_HISTORICAL: _ClassVar[OrderFilter]

class ReorderReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REORDER_REASON_UNSPECIFIED: _ClassVar[ReorderReason]
    REORDER_REASON_DISCONTINUED: _ClassVar[ReorderReason]
    REORDER_REASON_UNKNOWN_ARTICLE: _ClassVar[ReorderReason]
    REORDER_REASON_NOT_SELLABLE: _ClassVar[ReorderReason]
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WEB: Channel
CHANNEL_PHONE: Channel
CHANNEL_LETTER: Channel
CHANNEL_FAX: Channel
CHANNEL_STORE: Channel
CHANNEL_EMAIL: Channel
CHANNEL_MARKETPLACE: Channel
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_RECEIVED: OrderStatus
ORDER_STATUS_ON_HOLD: OrderStatus
ORDER_STATUS_IN_PROCESSING: OrderStatus
ORDER_STATUS_PARTIALLY_DELIVERED: OrderStatus
ORDER_STATUS_SHIPPED: OrderStatus
ORDER_STATUS_DELIVERED: OrderStatus
ORDER_STATUS_RETURN_IN_PROGRESS: OrderStatus
ORDER_STATUS_RETURNED: OrderStatus
ORDER_STATUS_EXCHANGE_SHIPPED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_BACKORDERED: OrderStatus
LINE_TYPE_UNSPECIFIED: LineType
LINE_TYPE_PRODUCT: LineType
LINE_TYPE_SHIPPING_FEE: LineType
LINE_TYPE_SURCHARGE: LineType
LINE_TYPE_VOUCHER: LineType
LINE_TYPE_FREE_ITEM: LineType
LINE_TYPE_CATALOGUE: LineType
LINE_TYPE_SERVICE: LineType
LINE_STATUS_UNSPECIFIED: LineStatus
LINE_STATUS_OPEN: LineStatus
LINE_STATUS_AVAILABLE: LineStatus
LINE_STATUS_BACKORDERED: LineStatus
LINE_STATUS_PARTIALLY_SHIPPED: LineStatus
LINE_STATUS_SHIPPED: LineStatus
LINE_STATUS_DELIVERED: LineStatus
LINE_STATUS_CANCELLED: LineStatus
LINE_STATUS_PARTIALLY_RETURNED: LineStatus
LINE_STATUS_RETURNED: LineStatus
LINE_STATUS_RETURN_REQUESTED: LineStatus
SHIPMENT_DIRECTION_UNSPECIFIED: ShipmentDirection
SHIPMENT_DIRECTION_OUTBOUND: ShipmentDirection
SHIPMENT_DIRECTION_RETURN: ShipmentDirection
DOCUMENT_TYPE_UNSPECIFIED: DocumentType
DOCUMENT_TYPE_INVOICE: DocumentType
DOCUMENT_TYPE_CREDIT_NOTE: DocumentType
RETURN_STATE_UNSPECIFIED: ReturnState
RETURN_STATE_REQUESTED: ReturnState
RETURN_STATE_AUTHORIZED: ReturnState
RETURN_STATE_RECEIVED: ReturnState
RETURN_STATE_COMPLETED: ReturnState
RETURN_STATE_REJECTED: ReturnState
RETURN_STATE_CANCELLED: ReturnState
RETURN_RESOLUTION_UNSPECIFIED: ReturnResolution
RETURN_RESOLUTION_REFUND: ReturnResolution
RETURN_RESOLUTION_CREDIT_NOTE: ReturnResolution
RETURN_RESOLUTION_REPLACEMENT: ReturnResolution
ORDER_FILTER_UNSPECIFIED: OrderFilter
ORDER_FILTER_OPEN: OrderFilter
ORDER_FILTER_HISTORICAL: OrderFilter
REORDER_REASON_UNSPECIFIED: ReorderReason
REORDER_REASON_DISCONTINUED: ReorderReason
REORDER_REASON_UNKNOWN_ARTICLE: ReorderReason
REORDER_REASON_NOT_SELLABLE: ReorderReason

class ListOrdersRequest(_message.Message):
    __slots__ = ("customer_number", "page_size", "page_token", "filter", "from_date", "to_date", "language")
    CUSTOMER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    customer_number: str
    page_size: int
    page_token: str
    filter: OrderFilter
    from_date: str
    to_date: str
    language: _common_pb2.Language
    def __init__(self, customer_number: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[_Union[OrderFilter, str]] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., language: _Optional[_Union[_common_pb2.Language, str]] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[OrderSummary]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[OrderSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class OrderSummary(_message.Message):
    __slots__ = ("order_number", "order_date", "channel", "total", "status", "status_label", "shop_order_number", "delivered_on", "has_invoice", "has_tracking", "reorderable")
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_DATE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_LABEL_FIELD_NUMBER: _ClassVar[int]
    SHOP_ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_ON_FIELD_NUMBER: _ClassVar[int]
    HAS_INVOICE_FIELD_NUMBER: _ClassVar[int]
    HAS_TRACKING_FIELD_NUMBER: _ClassVar[int]
    REORDERABLE_FIELD_NUMBER: _ClassVar[int]
    order_number: str
    order_date: str
    channel: Channel
    total: _common_pb2.Money
    status: OrderStatus
    status_label: str
    shop_order_number: str
    delivered_on: str
    has_invoice: bool
    has_tracking: bool
    reorderable: bool
    def __init__(self, order_number: _Optional[str] = ..., order_date: _Optional[str] = ..., channel: _Optional[_Union[Channel, str]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., status_label: _Optional[str] = ..., shop_order_number: _Optional[str] = ..., delivered_on: _Optional[str] = ..., has_invoice: _Optional[bool] = ..., has_tracking: _Optional[bool] = ..., reorderable: _Optional[bool] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("customer_number", "order_number", "language")
    CUSTOMER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    customer_number: str
    order_number: str
    language: _common_pb2.Language
    def __init__(self, customer_number: _Optional[str] = ..., order_number: _Optional[str] = ..., language: _Optional[_Union[_common_pb2.Language, str]] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("summary", "lines", "shipments", "documents", "returns", "history", "goods_total", "shipping_total")
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SHIPMENTS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    RETURNS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    GOODS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_TOTAL_FIELD_NUMBER: _ClassVar[int]
    summary: OrderSummary
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    shipments: _containers.RepeatedCompositeFieldContainer[Shipment]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    returns: _containers.RepeatedCompositeFieldContainer[Return]
    history: _containers.RepeatedCompositeFieldContainer[StatusEvent]
    goods_total: _common_pb2.Money
    shipping_total: _common_pb2.Money
    def __init__(self, summary: _Optional[_Union[OrderSummary, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., shipments: _Optional[_Iterable[_Union[Shipment, _Mapping]]] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., returns: _Optional[_Iterable[_Union[Return, _Mapping]]] = ..., history: _Optional[_Iterable[_Union[StatusEvent, _Mapping]]] = ..., goods_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., shipping_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Variant(_message.Message):
    __slots__ = ("colour", "size")
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    colour: str
    size: str
    def __init__(self, colour: _Optional[str] = ..., size: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("line_number", "line_type", "article_number", "description", "variant", "sku", "unit_price", "line_total", "quantity_ordered", "quantity_invoiced", "quantity_shipped", "quantity_backordered", "quantity_cancelled", "quantity_returned", "status", "status_label", "expected_delivery_date", "reorderable")
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LINE_TYPE_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_ORDERED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_INVOICED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_SHIPPED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_BACKORDERED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_RETURNED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_LABEL_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_DELIVERY_DATE_FIELD_NUMBER: _ClassVar[int]
    REORDERABLE_FIELD_NUMBER: _ClassVar[int]
    line_number: int
    line_type: LineType
    article_number: str
    description: str
    variant: Variant
    sku: str
    unit_price: _common_pb2.Money
    line_total: _common_pb2.Money
    quantity_ordered: int
    quantity_invoiced: int
    quantity_shipped: int
    quantity_backordered: int
    quantity_cancelled: int
    quantity_returned: int
    status: LineStatus
    status_label: str
    expected_delivery_date: str
    reorderable: bool
    def __init__(self, line_number: _Optional[int] = ..., line_type: _Optional[_Union[LineType, str]] = ..., article_number: _Optional[str] = ..., description: _Optional[str] = ..., variant: _Optional[_Union[Variant, _Mapping]] = ..., sku: _Optional[str] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., line_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., quantity_ordered: _Optional[int] = ..., quantity_invoiced: _Optional[int] = ..., quantity_shipped: _Optional[int] = ..., quantity_backordered: _Optional[int] = ..., quantity_cancelled: _Optional[int] = ..., quantity_returned: _Optional[int] = ..., status: _Optional[_Union[LineStatus, str]] = ..., status_label: _Optional[str] = ..., expected_delivery_date: _Optional[str] = ..., reorderable: _Optional[bool] = ...) -> None: ...

class Shipment(_message.Message):
    __slots__ = ("shipment_id", "carrier", "parcel_number", "tracking_url", "shipped_on", "delivered_on", "direction", "items")
    SHIPMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CARRIER_FIELD_NUMBER: _ClassVar[int]
    PARCEL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_URL_FIELD_NUMBER: _ClassVar[int]
    SHIPPED_ON_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_ON_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    shipment_id: str
    carrier: str
    parcel_number: str
    tracking_url: str
    shipped_on: str
    delivered_on: str
    direction: ShipmentDirection
    items: _containers.RepeatedCompositeFieldContainer[ShipmentItem]
    def __init__(self, shipment_id: _Optional[str] = ..., carrier: _Optional[str] = ..., parcel_number: _Optional[str] = ..., tracking_url: _Optional[str] = ..., shipped_on: _Optional[str] = ..., delivered_on: _Optional[str] = ..., direction: _Optional[_Union[ShipmentDirection, str]] = ..., items: _Optional[_Iterable[_Union[ShipmentItem, _Mapping]]] = ...) -> None: ...

class ShipmentItem(_message.Message):
    __slots__ = ("line_number", "quantity")
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    line_number: int
    quantity: int
    def __init__(self, line_number: _Optional[int] = ..., quantity: _Optional[int] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("document_id", "type", "number", "date", "amount", "pdf_available")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PDF_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    type: DocumentType
    number: str
    date: str
    amount: _common_pb2.Money
    pdf_available: bool
    def __init__(self, document_id: _Optional[str] = ..., type: _Optional[_Union[DocumentType, str]] = ..., number: _Optional[str] = ..., date: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., pdf_available: _Optional[bool] = ...) -> None: ...

class Return(_message.Message):
    __slots__ = ("return_id", "state", "state_label", "requested_on", "reason", "resolution", "lines", "replacement_shipment")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_LABEL_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ON_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_SHIPMENT_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    state: ReturnState
    state_label: str
    requested_on: str
    reason: str
    resolution: ReturnResolution
    lines: _containers.RepeatedCompositeFieldContainer[ReturnLine]
    replacement_shipment: Shipment
    def __init__(self, return_id: _Optional[str] = ..., state: _Optional[_Union[ReturnState, str]] = ..., state_label: _Optional[str] = ..., requested_on: _Optional[str] = ..., reason: _Optional[str] = ..., resolution: _Optional[_Union[ReturnResolution, str]] = ..., lines: _Optional[_Iterable[_Union[ReturnLine, _Mapping]]] = ..., replacement_shipment: _Optional[_Union[Shipment, _Mapping]] = ...) -> None: ...

class ReturnLine(_message.Message):
    __slots__ = ("line_number", "quantity", "replacement_article_number", "replacement_sku")
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_ARTICLE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    REPLACEMENT_SKU_FIELD_NUMBER: _ClassVar[int]
    line_number: int
    quantity: int
    replacement_article_number: str
    replacement_sku: str
    def __init__(self, line_number: _Optional[int] = ..., quantity: _Optional[int] = ..., replacement_article_number: _Optional[str] = ..., replacement_sku: _Optional[str] = ...) -> None: ...

class StatusEvent(_message.Message):
    __slots__ = ("at", "code", "label")
    AT_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    code: str
    label: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., code: _Optional[str] = ..., label: _Optional[str] = ...) -> None: ...

class GetInvoicePdfRequest(_message.Message):
    __slots__ = ("customer_number", "order_number", "document_id")
    CUSTOMER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    customer_number: str
    order_number: str
    document_id: str
    def __init__(self, customer_number: _Optional[str] = ..., order_number: _Optional[str] = ..., document_id: _Optional[str] = ...) -> None: ...

class GetInvoicePdfResponse(_message.Message):
    __slots__ = ("file_name", "content_type", "size", "sha256", "data")
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    content_type: str
    size: int
    sha256: str
    data: bytes
    def __init__(self, file_name: _Optional[str] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class GetReorderItemsRequest(_message.Message):
    __slots__ = ("customer_number", "order_number", "line_numbers", "language")
    CUSTOMER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LINE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    customer_number: str
    order_number: str
    line_numbers: _containers.RepeatedScalarFieldContainer[int]
    language: _common_pb2.Language
    def __init__(self, customer_number: _Optional[str] = ..., order_number: _Optional[str] = ..., line_numbers: _Optional[_Iterable[int]] = ..., language: _Optional[_Union[_common_pb2.Language, str]] = ...) -> None: ...

class GetReorderItemsResponse(_message.Message):
    __slots__ = ("items", "rejected")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ReorderItem]
    rejected: _containers.RepeatedCompositeFieldContainer[ReorderItem]
    def __init__(self, items: _Optional[_Iterable[_Union[ReorderItem, _Mapping]]] = ..., rejected: _Optional[_Iterable[_Union[ReorderItem, _Mapping]]] = ...) -> None: ...

class ReorderItem(_message.Message):
    __slots__ = ("line_number", "article_number", "sku", "description", "variant", "quantity", "current_price", "reason", "successor_article_number", "successor_description")
    LINE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ARTICLE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PRICE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_ARTICLE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    line_number: int
    article_number: str
    sku: str
    description: str
    variant: Variant
    quantity: int
    current_price: _common_pb2.Money
    reason: ReorderReason
    successor_article_number: str
    successor_description: str
    def __init__(self, line_number: _Optional[int] = ..., article_number: _Optional[str] = ..., sku: _Optional[str] = ..., description: _Optional[str] = ..., variant: _Optional[_Union[Variant, _Mapping]] = ..., quantity: _Optional[int] = ..., current_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[_Union[ReorderReason, str]] = ..., successor_article_number: _Optional[str] = ..., successor_description: _Optional[str] = ...) -> None: ...

class LookupGuestOrderRequest(_message.Message):
    __slots__ = ("order_number", "postcode", "last_name", "email", "language")
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    POSTCODE_FIELD_NUMBER: _ClassVar[int]
    LAST_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    order_number: str
    postcode: str
    last_name: str
    email: str
    language: _common_pb2.Language
    def __init__(self, order_number: _Optional[str] = ..., postcode: _Optional[str] = ..., last_name: _Optional[str] = ..., email: _Optional[str] = ..., language: _Optional[_Union[_common_pb2.Language, str]] = ...) -> None: ...

class LookupGuestOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...
