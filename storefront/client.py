"""The storefront's only door to the ERP: the generated Online Connect gRPC client, with deadlines and error mapping.

Every call follows the same three rules a shop should copy:

1. **A short deadline** (:data:`DEADLINE`, 2 s). A customer waits for a page, not for an ERP; when the answer does
   not come in time the page says so and stays usable.
2. **The customer number comes from the shop's login**, never from the request the buyer sends.
3. **gRPC errors are mapped once, here**, into :class:`InquiryError` with a ``kind`` the page turns into a sentence
   the customer understands. The gRPC status and details go to the server log only.

Each call also carries the page request's id as ``x-request-id`` (bound by the HTTP layer in the structlog context),
so one id finds a page view in the storefront's, the gateway's and the agent's logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import structlog

from onlineconnect.v1 import common_pb2, orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

log = structlog.get_logger("storefront")

#: Deadline of every unary call in seconds: short, so an offline or slow ERP costs the customer 2 s at most.
DEADLINE = 2.0
#: Deadline of a whole invoice download; the PDF streams in 64 KiB chunks, a big archive file needs longer.
PDF_DEADLINE = 20.0
#: Orders per page of the order history.
PAGE_SIZE = 5

# The statuses that mean "the ERP cannot answer right now": agent offline, tunnel dropped, too slow, too busy.
_UNREACHABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)
_LANGUAGES = {"de": common_pb2.LANGUAGE_DE, "en": common_pb2.LANGUAGE_EN}
FILTERS = {"all": orders_pb2.ORDER_FILTER_UNSPECIFIED, "open": orders_pb2.ORDER_FILTER_OPEN}
FILTERS["historical"] = orders_pb2.ORDER_FILTER_HISTORICAL


class InquiryError(Exception):
    """An Online Connect call failed. Expected: the page shows the message for ``kind`` and keeps working.

    ``kind`` is ``"unavailable"`` (agent offline, slow or busy), ``"not_found"`` (unknown order, document or
    article; also another customer's order, or a guest lookup's wrong pair), ``"invalid"`` (a request field the API
    refused, such as a postcode the agent's table does not know), ``"too_many"`` (a guest lookup beyond the
    guessing limits) or ``"failed"`` (anything else: wrong shop key, missing permission, a bug).
    """

    def __init__(self, kind: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{kind}: {code.name} {details}")
        self.kind = kind
        self.code = code


def _mapped(rpc: str, exc: grpc.RpcError, *, exhausted: str = "unavailable") -> InquiryError:
    """Turns a gRPC error into an :class:`InquiryError` and logs the status for the shop's operators.

    Args:
        rpc: The method name, for the log.
        exc: The gRPC error.
        exhausted: The kind for RESOURCE_EXHAUSTED: "unavailable" (the tenant is busy) unless the page tells a
            limit on the customer's own attempts apart ("too_many").
    """
    code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = (exc.details() if isinstance(exc, grpc.Call) else str(exc)) or ""
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        kind = exhausted
    elif code in _UNREACHABLE:
        kind = "unavailable"
    elif code == grpc.StatusCode.NOT_FOUND:
        kind = "not_found"
    elif code == grpc.StatusCode.INVALID_ARGUMENT:
        kind = "invalid"
    else:
        kind = "failed"
    # A missing order is routine; an unreachable ERP is worth a warning; anything else is a setup problem or a bug.
    level = {"not_found": "info", "invalid": "info", "unavailable": "warning", "too_many": "warning"}.get(kind, "error")
    getattr(log, level)("onlineconnect.call_failed", rpc=rpc, code=code.name, details=details)
    return InquiryError(kind, code, details)


@dataclass(frozen=True)
class PdfDownload:
    """An invoice PDF on its way: the metadata of the first message and an iterator over all the bytes."""

    file_name: str
    content_type: str
    size: int
    sha256: str
    chunks: Iterator[bytes]


class ShopClient:
    """Order and stock inquiry for the signed-in customer, through the gateway.

    One instance per process: a gRPC channel is thread-safe and multiplexes every page request over one connection.
    """

    def __init__(self, target: str, shop_key: str, *, credentials: grpc.ChannelCredentials | None = None) -> None:
        """Opens the channel (lazily: nothing connects until the first call).

        Args:
            target: The gateway's ``host:port``.
            shop_key: The shop's API key, sent as ``authorization: Bearer <key>`` on every call.
            credentials: TLS credentials; None for plaintext (only for a gateway on loopback, as in the demo).
        """
        if credentials is None:
            self._channel = grpc.insecure_channel(target)
        else:
            self._channel = grpc.secure_channel(target, credentials)
        # The generated stubs are untyped; the typed request and response messages keep the calls checked.
        self._orders = orders_pb2_grpc.OrderServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._stock = stock_pb2_grpc.StockServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._key = shop_key

    @property
    def _auth(self) -> tuple[tuple[str, str], ...]:
        """Call metadata: the shop's API key and the current page request's id."""
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        auth = ("authorization", f"Bearer {self._key}")
        return (auth, ("x-request-id", request_id)) if request_id else (auth,)

    def close(self) -> None:
        """Closes the channel."""
        self._channel.close()

    def list_orders(
        self, customer: str, *, lang: str, filter: str = "all", page_token: str = ""
    ) -> orders_pb2.ListOrdersResponse:
        """One page of the customer's order history, newest first."""
        req = orders_pb2.ListOrdersRequest(
            customer_number=customer,
            page_size=PAGE_SIZE,
            page_token=page_token,
            filter=FILTERS.get(filter, orders_pb2.ORDER_FILTER_UNSPECIFIED),
            language=_LANGUAGES[lang],
        )
        try:
            resp: orders_pb2.ListOrdersResponse = self._orders.ListOrders(req, metadata=self._auth, timeout=DEADLINE)
        except grpc.RpcError as exc:
            raise _mapped("ListOrders", exc) from exc
        return resp

    def get_order(self, customer: str, order_number: str, *, lang: str) -> orders_pb2.Order:
        """One order with lines, shipments, documents, returns and history."""
        req = orders_pb2.GetOrderRequest(customer_number=customer, order_number=order_number, language=_LANGUAGES[lang])
        try:
            answer: orders_pb2.GetOrderResponse = self._orders.GetOrder(req, metadata=self._auth, timeout=DEADLINE)
        except grpc.RpcError as exc:
            raise _mapped("GetOrder", exc) from exc
        return answer.order

    def reorder_items(
        self, customer: str, order_number: str, line_numbers: list[int], *, lang: str
    ) -> orders_pb2.GetReorderItemsResponse:
        """The chosen lines (all reorderable ones when ``line_numbers`` is empty) with current article data."""
        req = orders_pb2.GetReorderItemsRequest(
            customer_number=customer, order_number=order_number, line_numbers=line_numbers, language=_LANGUAGES[lang]
        )
        try:
            items: orders_pb2.GetReorderItemsResponse = self._orders.GetReorderItems(
                req, metadata=self._auth, timeout=DEADLINE
            )
        except grpc.RpcError as exc:
            raise _mapped("GetReorderItems", exc) from exc
        return items

    def lookup_guest_order(
        self, order_number: str, postcode: str, *, customer_ip: str, last_name: str = "", lang: str
    ) -> orders_pb2.Order:
        """The reduced view of one order for a visitor without an account: order number plus postcode (and last name).

        Every attempt counts against the gateway's guessing limits, so there is no retry here. A wrong pair raises
        ``not_found`` exactly like an unknown order; the limits raise ``too_many``. The postcode and name go to the
        API only, never into a log line.

        Args:
            order_number: As the visitor typed it.
            postcode: As the visitor typed it; the agent ignores spaces and case.
            customer_ip: The visitor's IP address, sent as ``x-customer-ip`` for the gateway's per-IP limit.
            last_name: Optional; must match too when given.
            lang: "de" or "en", for the status labels.
        """
        req = orders_pb2.LookupGuestOrderRequest(
            order_number=order_number, postcode=postcode, last_name=last_name, language=_LANGUAGES[lang]
        )
        metadata = (*self._auth, ("x-customer-ip", customer_ip))
        try:
            answer: orders_pb2.LookupGuestOrderResponse = self._orders.LookupGuestOrder(
                req, metadata=metadata, timeout=DEADLINE
            )
        except grpc.RpcError as exc:
            raise _mapped("LookupGuestOrder", exc, exhausted="too_many") from exc
        return answer.order

    def invoice_pdf(self, customer: str, order_number: str, document_id: str) -> PdfDownload:
        """Starts an invoice download and waits for the first message, so errors surface before any byte is sent.

        The returned ``chunks`` yields the first message's data and then the rest of the stream; an error in the
        middle raises :class:`InquiryError` from the iterator (the caller can then only abort the response).
        """
        req = orders_pb2.GetInvoicePdfRequest(
            customer_number=customer, order_number=order_number, document_id=document_id
        )
        stream = self._orders.GetInvoicePdf(req, metadata=self._auth, timeout=PDF_DEADLINE)
        try:
            first = next(stream)
        except grpc.RpcError as exc:
            raise _mapped("GetInvoicePdf", exc) from exc
        except StopIteration:
            raise InquiryError("not_found", grpc.StatusCode.NOT_FOUND, "empty PDF stream") from None

        def chunks() -> Iterator[bytes]:
            yield first.data
            try:
                for msg in stream:
                    yield msg.data
            except grpc.RpcError as exc:
                raise _mapped("GetInvoicePdf", exc) from exc
            finally:
                stream.cancel()  # no-op after a complete stream; frees the call if the browser went away

        return PdfDownload(first.file_name, first.content_type, first.size, first.sha256, chunks())

    def store_stock(self, sku: str, *, postcode: str = "", max_stores: int = 5) -> stock_pb2.GetStoreStockResponse:
        """Stock of one variant in the branch stores, nearest first when the customer gave a German postcode."""
        location = stock_pb2.Location(postcode=postcode, country="DE") if postcode else None
        req = stock_pb2.GetStoreStockRequest(sku=sku, location=location, max_stores=max_stores)
        try:
            stock: stock_pb2.GetStoreStockResponse = self._stock.GetStoreStock(
                req, metadata=self._auth, timeout=DEADLINE
            )
        except grpc.RpcError as exc:
            raise _mapped("GetStoreStock", exc) from exc
        return stock
