"""Typed configuration models for gateway and agent, with errors that name the file, the key and what is expected.

Gateway and agent each have one TOML file (stdlib ``tomllib``). Each file is described by pydantic models built
on :class:`ConfigModel` (the gateway's in ``gateway/config.py``, the agent's in ``agent/config.py``, the
``[orders]`` and ``[stock]`` tables beside their code). The models are strict (``true`` is no integer, ``"3"`` no
number) and forbid unknown keys, so a typo stops the process instead of being ignored. :func:`validate` turns
pydantic's errors into one :class:`~onlineconnect.errors.ConfigError` line of the form
``<file>: <dotted.key>: <what was expected>``; :func:`printable` derives ``--print-config`` from a validated model,
secrets masked.

Secret values (:data:`Secret`) may be given inline, or as ``env:NAME`` (an environment variable) or ``file:PATH``
(a file's content, stripped), so that config files can be checked in without secrets; they are held as
``SecretStr``, which never shows its value in ``repr``, logs or ``--print-config``. Relative paths
(:data:`ConfigPath`) are taken relative to the configuration file's folder.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from .errors import ConfigError

T = TypeVar("T")
ErrorFactory = Callable[[str], Exception]


class ConfigModel(BaseModel):
    """Base of every configuration table: immutable, validated on construction, strict types (``true`` is no
    integer), unknown keys refused, and no input values in pydantic's own messages (they could be secrets).

    Copy with ``model_copy(update=…)`` only values that are already valid; build a new model to validate.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True)


class KeyProblem(ValueError):
    """Raised by a model's validator for a rule that involves a key other than the one being validated.

    Args:
        key: The key's path below the model that raises (``"insecure"`` or ``("shops", 0, "tenant")``).
        what: What is expected, for the message.
    """

    def __init__(self, key: str | tuple[str | int, ...], what: str) -> None:
        super().__init__(what)
        self.key: tuple[str | int, ...] = (key,) if isinstance(key, str) else key
        self.what = what


def base_dir(info: ValidationInfo) -> Path:
    """The folder relative paths are resolved against (the configuration file's), from the validation context."""
    context = info.context
    if isinstance(context, Mapping):
        base = context.get("base_dir")
        if isinstance(base, Path):
            return base
    return Path.cwd()


def _resolve_path(value: object, info: ValidationInfo) -> object:
    if isinstance(value, str):
        if not value.strip():
            raise ValueError("expected a non-empty path")
        p = Path(value).expanduser()
        return p if p.is_absolute() else base_dir(info) / p
    return value


def secret_field(value: object, info: ValidationInfo) -> object:
    """Validator of secret fields: resolves ``env:``/``file:`` and wraps the value so it never prints."""
    if isinstance(value, str):
        return SecretStr(resolve_secret(value, ValueError, base_dir(info)))
    return value


def _mask_secret(value: SecretStr) -> str:
    return mask(value.get_secret_value())


#: A file system path; relative paths are taken relative to the configuration file's folder.
ConfigPath = Annotated[Path, BeforeValidator(_resolve_path), PlainSerializer(str, return_type=str)]


def _mask_secret_url(value: SecretStr) -> str:
    return mask_url(value.get_secret_value())


#: A secret: inline, ``env:NAME`` or ``file:PATH``; printed as ``***``.
Secret = Annotated[SecretStr, BeforeValidator(secret_field), PlainSerializer(_mask_secret, return_type=str)]
#: Server URLs that may carry credentials (``nats://user:pass@host``), resolved like :data:`Secret`; printed with
#: the user info masked.
SecretUrl = Annotated[SecretStr, BeforeValidator(secret_field), PlainSerializer(_mask_secret_url, return_type=str)]


def load_toml(path: Path) -> dict[str, object]:
    """Reads ``path`` as TOML; unreadable or malformed files raise ConfigError naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def validate(
    model: type[T], data: object, *, source: str, base_dir: Path | None = None, prefix: tuple[str, ...] = ()
) -> T:
    """Validates ``data`` (a parsed TOML table) against ``model``.

    Args:
        model: The model of the table.
        data: The table as ``tomllib`` returns it.
        source: The file's path (or a placeholder such as ``<test>``), first in every message.
        base_dir: The folder relative paths and ``file:`` secrets are resolved against; default: ``source``'s
            folder, or the working directory for a placeholder.
        prefix: The table's dotted position in the file (``("orders",)``), for messages.

    Raises:
        ConfigError: the first problem found, as ``<file>: <dotted.key>: <what was expected>``.
    """
    folder = base_dir or (Path.cwd() if source.startswith("<") else Path(source).parent)
    try:
        return TypeAdapter(model).validate_python(data, context={"base_dir": folder})
    except ValidationError as exc:
        raise ConfigError(describe(exc.errors()[0], model, source=source, prefix=prefix)) from None


def dotted(loc: tuple[str | int, ...]) -> str:
    """``("shops", 0, "tenant")`` → ``shops[0].tenant``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_KINDS = {
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "dataclass_type": "a table",
    "list_type": "a list",
    "path_type": "a path (a string)",
    "int_from_float": "an integer",
}
_BOUNDS = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}


def describe(error: ErrorDetails, model: type, *, source: str, prefix: tuple[str, ...] = ()) -> str:
    """One pydantic error as ``<file>: <dotted.key>: <what was expected>``."""
    loc = tuple(p for p in error["loc"] if p != "[key]")
    kind = error["type"]
    ctx = error.get("ctx") or {}
    problem = ctx.get("error")
    if isinstance(problem, KeyProblem):
        return f"{source}: {dotted((*prefix, *loc, *problem.key))}: {problem.what}"
    key = dotted((*prefix, *loc))
    where = f"{source}: {key}" if key else source
    if isinstance(problem, Exception):
        return f"{where}: {problem}"
    if kind == "extra_forbidden":
        known = known_keys(model, loc[:-1])
        return f"{where}: unknown key; check the spelling" + (f" (known: {', '.join(known)})" if known else "")
    if kind == "missing":
        return f"{where}: missing; a value is required"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", '"')
        return f"{where}: expected {expected}, got {error.get('input')!r}"
    value = error.get("input")
    if kind in _BOUNDS:
        (_, bound), *_ = ctx.items()
        return f"{where}: expected a value {_BOUNDS[kind]} {bound}, got {value!r}"
    if kind in _KINDS:
        # The type, not the value: a secret given with the wrong type is still a secret.
        return f"{where}: expected {_KINDS[kind]}, got {_toml_type(value)}"
    return f"{where}: {error['msg']}"


_TOML_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    dict: "a table",
    list: "a list",
}


def _toml_type(value: object) -> str:
    return next((name for kind, name in _TOML_TYPES.items() if isinstance(value, kind)), type(value).__name__)


def _fields(kind: object) -> dict[str, FieldInfo] | None:
    found = getattr(kind, "__pydantic_fields__", None) if isinstance(kind, type) else None
    return found if isinstance(found, dict) else None


def _tables_in(annotation: object) -> list[dict[str, FieldInfo]]:
    own = _fields(annotation)
    if own is not None:
        return [own]
    return [t for arg in typing.get_args(annotation) for t in _tables_in(arg)]


def known_keys(model: type, loc: tuple[str | int, ...]) -> list[str]:
    """The keys the table at ``loc`` below ``model`` accepts (for "unknown key" messages); [] if unknown."""
    current = _tables_in(model)
    for part in loc:
        if not current:
            return []
        if isinstance(part, int) or part not in current[0]:
            continue  # a list index or a free-form table's key: the element type is already in ``current``
        current = _tables_in(current[0][part].annotation)
    return sorted(current[0]) if current else []


def printable(model: BaseModel) -> dict[str, object]:
    """The model as ``--print-config`` shows it: every key with its effective value, secrets masked."""
    return model.model_dump(mode="json")


class LogTable(ConfigModel):
    """The ``[log]`` table shared by gateway and agent."""

    format: typing.Literal["console", "json"] = "console"
    level: typing.Literal["debug", "info", "warning", "error"] = "info"


def resolve_secret(value: str, error: ErrorFactory, base_dir: Path) -> str:
    """Resolves ``env:NAME`` / ``file:PATH`` secret references; other values are returned as they are."""
    if value.startswith("env:"):
        var = value[4:]
        if var not in os.environ:
            raise error(f"environment variable {var} is not set")
        return os.environ[var]
    if value.startswith("file:"):
        p = Path(value[5:]).expanduser()
        p = p if p.is_absolute() else base_dir / p
        try:
            return p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise error(f"cannot read secret file {p}: {exc.strerror}") from exc
    return value


def parse_hex_key(value: str, error: ErrorFactory = ValueError) -> bytes:
    """Parses a 128-bit key written as 32 hex digits."""
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        raise error("expected 32 hex digits (a 128-bit key)") from None
    if len(key) != 16:
        raise error(f"expected 32 hex digits (a 128-bit key), got {len(value.strip())}")
    return key


def split_host_port(address: str, error: ErrorFactory = ValueError) -> tuple[str, int]:
    """Splits ``host:port`` (IPv6 in brackets)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise error(f"expected host:port, got {address!r}")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    """True if ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mask(value: str) -> str:
    """Masks a secret for ``--print-config``."""
    return "***" if value else ""


_URL_USERINFO = re.compile(r"//[^/@]*@")


def mask_url(urls: str) -> str:
    """``nats://user:secret@host`` → ``nats://***@host`` for each of comma-separated URLs (logs, print-config)."""
    return ",".join(_URL_USERINFO.sub("//***@", u) for u in urls.split(","))
