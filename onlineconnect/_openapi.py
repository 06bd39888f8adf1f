"""The OpenAPI 3.1 document of the HTTP/JSON API, derived from the protos' descriptors and comments.

``make generate`` writes it to ``onlineconnect/v1/openapi.json`` (see :mod:`onlineconnect._codegen`); the gateway
serves it at ``GET /openapi.json`` on its HTTP listener. It describes what the Connect protocol makes of the
shop services for a plain HTTP client: every unary RPC as ``POST /<service>/<method>`` with a JSON body, the
read-only ones (``idempotency_level = NO_SIDE_EFFECTS``) also as ``GET`` with the request in the query, and the
invoice download. JSON field names are the protos' own (``order_number``), as the gateway writes them; fields
with their default value (0, "", false, empty list) are left out of answers, as proto3 JSON does.

Nothing here is written by hand per RPC: adding an RPC or a field to the protos changes the document on the next
``make generate``, and ``tests/test_codegen.py`` fails until the committed document matches.
"""

from __future__ import annotations

from typing import Any

from connectrpc.code import Code
from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto
PACKAGE = "onlineconnect.v1"
SHOP_SERVICES = ("OrderService", "StockService")
INVOICE_PATH = "/v1/customers/{customer_number}/orders/{order_number}/invoices/{document_id}.pdf"
NO_SIDE_EFFECTS = descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS

# Source-info path numbers (descriptor.proto field numbers).
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _VALUE, _METHOD = 2, 3, 2, 2

_SCALARS: dict[int, dict[str, Any]] = {
    FD.TYPE_STRING: {"type": "string"},
    FD.TYPE_BOOL: {"type": "boolean"},
    FD.TYPE_INT32: {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1},
    FD.TYPE_SINT32: {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1},
    FD.TYPE_UINT32: {"type": "integer", "format": "int32", "minimum": 0, "maximum": 2**32 - 1},
    # proto3 JSON writes 64-bit integers as strings (JavaScript numbers lose precision past 2^53).
    FD.TYPE_INT64: {"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"},
    FD.TYPE_UINT64: {"type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$"},
    FD.TYPE_DOUBLE: {"type": "number"},
    FD.TYPE_FLOAT: {"type": "number"},
    FD.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    ".google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
}

CONNECT_CODES = [c.value for c in Code]  # the Connect protocol's error codes, in its order

# HTTP status → (component name, description); the Connect protocol's mapping of its error codes.
ERRORS: dict[str, tuple[str, str]] = {
    "400": (
        "InvalidArgument",
        "`invalid_argument`: a field is missing or malformed, the JSON cannot be parsed or a field has the wrong "
        "type; the message names the field. Fix the call; do not retry.",
    ),
    "401": ("Unauthenticated", "`unauthenticated`: the shop API key is missing or unknown."),
    "403": ("PermissionDenied", "`permission_denied`: the key is valid but may not call this RPC."),
    "404": (
        "NotFound",
        "`not_found`: the order or document does not exist or is not this customer's; the two are "
        "indistinguishable on purpose.",
    ),
    "408": ("RequestTimeout", "The request body did not arrive in time; the connection is closed."),
    "429": (
        "ResourceExhausted",
        "`resource_exhausted`: a rate limit, the tenant's requests in flight or the memory for unread answers "
        "is used up. Retry after the seconds in `Retry-After`, with backoff.",
    ),
    "500": ("Internal", "`internal` or `unknown`: a bug; the gateway's and agent's logs carry the request id."),
    "503": (
        "Unavailable",
        "`unavailable`: the merchant's ERP is offline (no agent connected), a tunnel dropped or the ERP database "
        "is down. Safe to retry once or twice with backoff.",
    ),
    "504": ("DeadlineExceeded", "`deadline_exceeded`: no answer within the call's deadline (`Connect-Timeout-Ms`)."),
}


def _text(comment: str) -> str:
    """A proto comment as Markdown: lines of a paragraph joined, paragraphs kept."""
    paragraphs = [" ".join(line.strip() for line in p.splitlines()) for p in comment.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


class _Comments:
    """Leading comments of one file's elements, by source-info path."""

    def __init__(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        self._by_path = {tuple(loc.path): _text(loc.leading_comments) for loc in file.source_code_info.location}

    def get(self, *path: int) -> str:
        return self._by_path.get(path, "")


class _Builder:
    """Walks the descriptors of the API's files and collects schemas, then paths."""

    def __init__(self, files: list[descriptor_pb2.FileDescriptorProto]) -> None:
        self.files = [f for f in files if f.package == PACKAGE]
        self.schemas: dict[str, dict[str, Any]] = {}
        self.full_names: dict[str, str] = {}  # ".onlineconnect.v1.Order" → "Order"
        for f in self.files:
            comments = _Comments(f)
            for i, e in enumerate(f.enum_type):
                self._enum(f".{PACKAGE}.{e.name}", e, comments, (_ENUM, i))
            for i, m in enumerate(f.message_type):
                self._message(f".{PACKAGE}", m, comments, (_MESSAGE, i))

    def _name(self, full_name: str) -> str:
        """The schema name of a message or enum: its short name, which must be unique in the API."""
        short = full_name.rsplit(".", 1)[-1]
        if short in self.full_names.values():
            raise ValueError(f"two API types are called {short}; the OpenAPI schemas need unique names")
        self.full_names[full_name] = short
        return short

    def _enum(
        self, full_name: str, e: descriptor_pb2.EnumDescriptorProto, comments: _Comments, path: tuple[int, ...]
    ) -> None:
        values = "\n".join(f"- `{v.name}`: {comments.get(*path, _VALUE, j)}" for j, v in enumerate(e.value))
        self.schemas[self._name(full_name)] = {
            "type": "string",
            "enum": [v.name for v in e.value],
            "description": f"{comments.get(*path)}\n\n{values}",
        }

    def _message(
        self, scope: str, m: descriptor_pb2.DescriptorProto, comments: _Comments, path: tuple[int, ...]
    ) -> None:
        full_name = f"{scope}.{m.name}"
        for i, e in enumerate(m.enum_type):
            self._enum(f"{full_name}.{e.name}", e, comments, (*path, 4, i))
        for i, nested in enumerate(m.nested_type):
            self._message(full_name, nested, comments, (*path, _NESTED, i))
        properties = {}
        for i, f in enumerate(m.field):
            schema = self._field(f)
            description = comments.get(*path, _FIELD, i)
            properties[f.name] = {**schema, "description": description} if description else schema
        self.schemas[self._name(full_name)] = {
            "type": "object",
            "description": comments.get(*path),
            "properties": properties,
            "additionalProperties": False,
        }

    def _field(self, f: descriptor_pb2.FieldDescriptorProto) -> dict[str, Any]:
        if f.type in (FD.TYPE_MESSAGE, FD.TYPE_ENUM):
            item = _WELL_KNOWN.get(f.type_name) or {"$ref": f"#/components/schemas/{f.type_name.rsplit('.', 1)[-1]}"}
        else:
            item = dict(_SCALARS[f.type])
        if f.label == FD.LABEL_REPEATED:
            return {"type": "array", "items": item}
        return dict(item)

    def ref(self, type_name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{self.full_names[type_name]}"}

    def paths(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for f in self.files:
            comments = _Comments(f)
            for si, service in enumerate(f.service):
                if service.name not in SHOP_SERVICES:
                    continue
                for mi, method in enumerate(service.method):
                    if method.server_streaming or method.client_streaming:
                        continue  # streams need the Connect envelope; the invoice has its plain download below
                    description = comments.get(_SERVICE, si, _METHOD, mi)
                    item = {"post": self._operation(service.name, method, description, get=False)}
                    if method.options.idempotency_level == NO_SIDE_EFFECTS:
                        item["get"] = self._operation(service.name, method, description, get=True)
                    paths[f"/{PACKAGE}.{service.name}/{method.name}"] = item
        paths[INVOICE_PATH] = {"get": _invoice_operation()}
        paths["/openapi.json"] = {"get": _document_operation()}
        return paths

    def _operation(
        self, service: str, method: descriptor_pb2.MethodDescriptorProto, description: str, *, get: bool
    ) -> dict[str, Any]:
        request = self.ref(method.input_type)
        parameters: list[dict[str, Any]] = [
            {"$ref": "#/components/parameters/RequestId"},
            {"$ref": "#/components/parameters/ConnectTimeoutMs"},
            {"$ref": "#/components/parameters/ConnectProtocolVersion"},
        ]
        op: dict[str, Any] = {
            "operationId": f"{service}.{method.name}" + (".get" if get else ""),
            "tags": [service],
            "summary": description.split(". ")[0].rstrip(".") if description else method.name,
        }
        if get:
            op["description"] = (
                f"{description}\n\nThe same call as `POST`, with the request as JSON in the query parameter "
                "`message` (URL-encoded) and `encoding=json`. Answers may be cached by the shop as `Cache-Control` "
                "allows; prefer `POST` for order data, whose customer and order numbers would otherwise appear "
                "in URLs."
            )
            parameters = [
                {
                    "name": "encoding",
                    "in": "query",
                    "required": True,
                    "description": "The codec of `message`: `json`.",
                    "schema": {"type": "string", "enum": ["json"]},
                },
                {
                    "name": "message",
                    "in": "query",
                    "required": True,
                    "description": "The request message as JSON.",
                    "content": {"application/json": {"schema": request}},
                },
                *parameters,
            ]
        else:
            op["description"] = description
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
        op["parameters"] = parameters
        op["responses"] = {
            "200": {
                "description": "The answer.",
                "headers": {
                    "X-Request-Id": {"$ref": "#/components/headers/RequestId"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
                },
                "content": {"application/json": {"schema": self.ref(method.output_type)}},
            },
            **_error_refs(),
        }
        return op


def _error_refs() -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{name}"} for status, (name, _) in ERRORS.items()}


def _invoice_operation() -> dict[str, Any]:
    def path_param(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}

    return {
        "operationId": "downloadInvoicePdf",
        "tags": ["OrderService"],
        "summary": "Downloads an invoice or credit note PDF as a file",
        "description": (
            "The ERP's archived PDF as one plain HTTP download, for shops that pass the bytes on to the browser: "
            "the same call as the server-streaming `OrderService.GetInvoicePdf`, with `Content-Disposition` "
            "carrying the ERP's file name. The body streams; if the transfer breaks off, the connection closes "
            "before `Content-Length` bytes arrived."
        ),
        "parameters": [
            path_param("customer_number", "The signed-in customer's number."),
            path_param("order_number", "The order the document belongs to."),
            path_param("document_id", "The document's `document_id` from `GetOrder`."),
            {"$ref": "#/components/parameters/RequestId"},
            {"$ref": "#/components/parameters/ConnectTimeoutMs"},
        ],
        "responses": {
            "200": {
                "description": "The PDF.",
                "headers": {
                    "X-Request-Id": {"$ref": "#/components/headers/RequestId"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
                    "Content-Disposition": {
                        "description": '`attachment; filename="…"` with the ERP\'s file name.',
                        "schema": {"type": "string"},
                    },
                },
                "content": {"application/pdf": {"schema": {"type": "string", "contentMediaType": "application/pdf"}}},
            },
            **_error_refs(),
        },
    }


def _document_operation() -> dict[str, Any]:
    return {
        "operationId": "openapi",
        "tags": ["Documentation"],
        "summary": "This document",
        "description": "Served without an API key.",
        "security": [],
        "responses": {"200": {"description": "The OpenAPI document.", "content": {"application/json": {}}}},
    }


def _components(schemas: dict[str, Any]) -> dict[str, Any]:
    error = {
        "type": "object",
        "description": "A Connect protocol error.",
        "required": ["code"],
        "properties": {
            "code": {"type": "string", "enum": CONNECT_CODES, "description": "The Connect error code."},
            "message": {"type": "string", "description": "What is wrong, for developers (never shown to buyers)."},
            "details": {"type": "array", "items": {"type": "object"}, "description": "Typed error details."},
        },
    }
    responses: dict[str, Any] = {}
    for status, (name, description) in ERRORS.items():
        headers: dict[str, Any] = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"}}
        if status == "429":
            headers["Retry-After"] = {
                "description": "Seconds after which a retry may succeed.",
                "schema": {"type": "integer", "minimum": 1},
                "required": True,
            }
        responses[name] = {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return {
        "securitySchemes": {
            "shopKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "The shop's API key: `Authorization: Bearer <key>`. It decides the tenant. Keep it "
                "on the shop's server, never in the browser.",
            }
        },
        "parameters": {
            "RequestId": {
                "name": "X-Request-Id",
                "in": "header",
                "required": False,
                "description": "Your own id of the call (1-64 characters `A-Z a-z 0-9 . _ : -`), returned in the "
                "answer and logged by gateway and agent; a fresh one is made if absent or malformed.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
            },
            "ConnectTimeoutMs": {
                "name": "Connect-Timeout-Ms",
                "in": "header",
                "required": False,
                "description": "The call's deadline in milliseconds (capped by the gateway's maximum; its default "
                "applies when absent). Past it the call ends with `deadline_exceeded` (HTTP 504).",
                "schema": {"type": "integer", "minimum": 1, "maximum": 9999999999},
            },
            "ConnectProtocolVersion": {
                "name": "Connect-Protocol-Version",
                "in": "header",
                "required": False,
                "description": "The Connect protocol version, `1`; Connect clients send it.",
                "schema": {"type": "string", "enum": ["1"]},
            },
        },
        "headers": {
            "RequestId": {
                "description": "The call's request id (yours if you sent a well-formed one).",
                "schema": {"type": "string"},
                "required": True,
            },
            "CacheControl": {
                "description": "`private, no-store` for order data; for stock, `max-age` as the tenant's stock "
                "cache allows (`no-cache` when it is off).",
                "schema": {"type": "string"},
                "required": True,
            },
        },
        "responses": responses,
        "schemas": {"Error": error, **dict(sorted(schemas.items()))},
    }


def build(descriptor_set: bytes) -> dict[str, Any]:
    """The OpenAPI document for the API described by ``descriptor_set`` (a FileDescriptorSet with source info).

    Args:
        descriptor_set: What ``protoc --include_source_info --include_imports --descriptor_set_out`` wrote.

    Returns:
        The document as JSON-ready dicts and lists, in a stable order.
    """
    files = list(descriptor_pb2.FileDescriptorSet.FromString(descriptor_set).file)
    builder = _Builder(files)
    paths = builder.paths()
    tags = [
        {"name": s.name, "description": _Comments(f).get(_SERVICE, i)}
        for f in builder.files
        for i, s in enumerate(f.service)
        if s.name in SHOP_SERVICES
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Online Connect shop API (HTTP/JSON)",
            "version": "v1",
            "description": (
                "Live order status and branch-store stock from the merchant's ERP, over the Connect protocol on the "
                "gateway's HTTP listener. Every call is `POST /<service>/<method>` with `Content-Type: "
                "application/json` and the shop's API key in `Authorization: Bearer <key>`; read-only calls may also "
                'use `GET`. Errors are JSON objects `{"code": …, "message": …}` with the HTTP status the Connect '
                "protocol assigns to the code. Field names are the protos' (`order_number`); answers leave out "
                "fields that have their default value. The same services are offered over gRPC "
                "(`protos/onlineconnect/v1/`)."
            ),
        },
        "tags": [*tags, {"name": "Documentation", "description": "This document."}],
        "security": [{"shopKey": []}],
        "paths": paths,
        "components": _components(builder.schemas),
    }
