"""Reading TOML configuration with errors that name the file, the key and what is expected.

Gateway and agent each have one TOML file (stdlib ``tomllib``). Both read it through :class:`Section`, which knows
where it is (``file`` and dotted key path) so every error says exactly what to fix. Secret values may be given
inline, or as ``env:NAME`` (an environment variable) or ``file:PATH`` (a file's content, stripped), so that
config files can be checked in without secrets.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

from .errors import ConfigError

T = TypeVar("T")
# Builtin names for annotations inside Section, whose methods are called str/int/float/bool.
Text: TypeAlias = str
Int: TypeAlias = int
Float: TypeAlias = float
Flag: TypeAlias = bool
_MISSING: Any = object()


def load_toml(path: Path) -> Section:
    """Reads ``path`` and returns its root section."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return Section(data, source=str(path), base_dir=path.parent)


class Section:
    """A table of a configuration file; tracks which keys were read so unknown ones can be reported."""

    def __init__(self, data: dict[Text, Any], *, source: Text, prefix: Text = "", base_dir: Path | None = None) -> None:
        self.data = data
        self.source = source
        self.prefix = prefix
        self.base_dir = base_dir or Path.cwd()
        self._seen: set[Text] = set()

    def key(self, name: Text) -> Text:
        """Dotted path of ``name`` in this section, for messages."""
        return f"{self.prefix}{name}"

    def error(self, name: Text, expected: Text) -> ConfigError:
        """Builds an error naming file, key and what is expected."""
        return ConfigError(f"{self.source}: {self.key(name)}: {expected}")

    def _get(self, name: Text, kind: type[Any] | tuple[type[Any], ...], expected: Text, default: Any) -> Any:
        self._seen.add(name)
        if name not in self.data:
            if default is _MISSING:
                raise self.error(name, f"missing; expected {expected}")
            return default
        value = self.data[name]
        if isinstance(value, Flag) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(name, f"expected {expected}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(name, f"expected {expected}, got {type(value).__name__} {value!r}")
        return value

    def str(self, name: Text, default: Any = _MISSING) -> Any:
        """A string value."""
        return self._get(name, Text, "a string", default)

    def bool(self, name: Text, default: Any = _MISSING) -> Any:
        """A boolean value (true/false)."""
        return self._get(name, Flag, "true or false", default)

    def int(self, name: Text, default: Any = _MISSING, *, min: Int | None = None, max: Int | None = None) -> Any:
        """An integer value within [min, max]."""
        value = self._get(name, Int, "an integer", default)
        if value is not None and ((min is not None and value < min) or (max is not None and value > max)):
            raise self.error(name, f"expected an integer in [{min}, {max}], got {value}")
        return value

    def float(self, name: Text, default: Any = _MISSING, *, min: Float | None = None, max: Float | None = None) -> Any:
        """A number (integer or float) within [min, max]."""
        value = self._get(name, (int, Float), "a number", default)
        if value is not None and ((min is not None and value < min) or (max is not None and value > max)):
            raise self.error(name, f"expected a number in [{min}, {max}], got {value}")
        return None if value is None else float(value)

    def str_list(self, name: Text, default: Any = _MISSING) -> Any:
        """A list of strings."""
        value = self._get(name, list, "a list of strings", default)
        if value is not default and not all(isinstance(v, Text) for v in value):
            raise self.error(name, "expected a list of strings")
        return value

    def path(self, name: Text, default: Any = _MISSING) -> Any:
        """A file system path; relative paths are taken relative to the configuration file's folder."""
        value = self.str(name, default)
        if not isinstance(value, Text):
            return value
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    def secret(self, name: Text, default: Any = _MISSING) -> Any:
        """A secret: inline, ``env:NAME`` or ``file:PATH``."""
        value = self.str(name, default)
        if not isinstance(value, Text):
            return value
        return resolve_secret(value, lambda what: self.error(name, what), self.base_dir)

    def table(self, name: Text, *, required: Flag = False) -> Section:
        """A sub-table (empty if absent and not required)."""
        value = self._get(name, dict, "a table", _MISSING if required else {})
        return Section(value, source=self.source, prefix=self.key(name) + ".", base_dir=self.base_dir)

    def tables(self, name: Text) -> Iterator[Section]:
        """An array of tables (``[[name]]``)."""
        value = self._get(name, list, "an array of tables", [])
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{name}[{i}]", "expected a table")
            yield Section(item, source=self.source, prefix=f"{self.key(name)}[{i}].", base_dir=self.base_dir)

    def items(self) -> Iterator[tuple[Text, Any]]:
        """All key/value pairs; marks them read."""
        self._seen.update(self.data)
        yield from self.data.items()

    def raw(self) -> dict[Text, Any]:
        """The plain dict (for modules that parse their own tables); marks every key read."""
        self._seen.update(self.data)
        return self.data

    def reject_unknown(self) -> None:
        """Raises for keys nobody read: a typo should not be silently ignored."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise ConfigError(f"{self.source}: unknown key {self.key(unknown[0])!r}; check the spelling")


LOG_LEVELS = ("debug", "info", "warning", "error")


def parse_log(root: Section) -> tuple[str, str]:
    """Reads the ``[log]`` table shared by gateway and agent: (format, level)."""
    log = root.table("log")
    fmt = log.str("format", "console")
    if fmt not in {"console", "json"}:
        raise log.error("format", f'expected "console" or "json", got {fmt!r}')
    level = log.str("level", "info")
    if level not in LOG_LEVELS:
        raise log.error("level", f'expected "debug", "info", "warning" or "error", got {level!r}')
    log.reject_unknown()
    return fmt, level


def resolve_secret(value: str, error: Any, base_dir: Path) -> str:
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


def parse_hex_key(value: str, error: Any) -> bytes:
    """Parses a 128-bit key written as 32 hex digits."""
    try:
        key = bytes.fromhex(value.strip())
    except ValueError:
        raise error("expected 32 hex digits (a 128-bit key)") from None
    if len(key) != 16:
        raise error(f"expected 32 hex digits (a 128-bit key), got {len(value.strip())}")
    return key


def split_host_port(address: str, error: Any) -> tuple[str, int]:
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
