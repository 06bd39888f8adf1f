"""The agent's audit log: one line per answered request, append-only and hash-chained.

Each line is a JSON object::

    {"seq": 7, "time": "2026-05-01T09:30:12.123456Z", "tenant": "acme", "shop": "acme-shop", "rpc": "GetOrder",
     "customer": "4711", "code": "OK", "ms": 12.5, "request_id": "…", "prev": "<hash of line 6>", "hash": "…"}

A guest order lookup (LookupGuestOrder) has no customer number in its request; its line carries ``"order"``, the
order number asked for, and ``"code"`` tells a found order (OK) from a miss (NOT_FOUND). The postcode, last name
and e-mail the customer typed are never recorded: they are personal data and the key to the order.

``hash`` is the SHA-256 of ``prev`` and the line's other fields (canonical JSON), ``prev`` the hash of the line
before (64 zeros for the first line). ``onlineconnect-agent audit verify FILE`` recomputes the chain: an edited
line breaks its own hash, a removed or reordered line breaks ``seq`` and ``prev`` of the next one. What the chain
cannot show by itself is lines cut off at the end; ``verify`` prints the count and the last hash so an operator
can compare them with a copy kept elsewhere (the agent logs them as ``audit.opened`` at every start).

The log records who asked for which customer's data and what the answer was — never the data itself. Customer
numbers are personal data, so the file is private to the agent's user: it is created with mode 0600 in a
directory the agent creates with mode 0700. At start the agent checks both and refuses to run (exit code 2, the
error names the path and the ``chmod`` that fixes it) if the directory or an existing file can be read by group
or others. It does not change permissions itself: the directory may be shared with other software (``/var/log``)
or managed by configuration tools, and a silent ``chmod`` there would surprise whoever set it up. On Windows the
folder's ACL governs access and the mode bits are not checked.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("onlineconnect.agent.audit")

GENESIS = "0" * 64
FIELDS = ("seq", "time", "tenant", "shop", "rpc", "customer", "code", "ms", "request_id")
# Fields only some lines carry; hashed when present, so lines written before they existed still verify.
OPTIONAL_FIELDS = ("order",)


class AuditPermissionError(PermissionError):
    """The audit file or its directory is open to group or others; the agent refuses to start (expected)."""


def _check_private(path: Path, what: str, mode: int) -> None:
    """Raises AuditPermissionError if ``path`` grants any permission to group or others (POSIX only)."""
    if os.name == "nt":
        return
    actual = stat.S_IMODE(path.stat().st_mode)
    if actual & 0o077:
        raise AuditPermissionError(
            errno.EACCES,
            f"{what} {path} is open to group or others (mode {actual:04o}) but the audit log names customers; "
            f"restrict it with: chmod {mode:o} {path}",
            str(path),
        )


def _digest(prev: str, record: dict[str, Any]) -> str:
    fields = {k: record[k] for k in FIELDS} | {k: record[k] for k in OPTIONAL_FIELDS if k in record}
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev + "\n" + body).encode()).hexdigest()


def _last_line(path: Path) -> bytes | None:
    """The last non-empty line of ``path`` without reading the whole file."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        block = b""
        pos = end
        while pos > 0:
            step = min(4096, pos)
            pos -= step
            fh.seek(pos)
            block = fh.read(step) + block
            lines = block.rstrip(b"\n").split(b"\n")
            if len(lines) > 1 or pos == 0:
                last = lines[-1]
                return last or None
    return None


class AuditLog:
    """Appends hash-chained records to one file. Thread-safe; one writer process per file.

    Raises:
        AuditPermissionError: the directory or an existing file is open to group or others.
        OSError: the file cannot be created or opened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seq = 0
        self._prev = GENESIS
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)  # the umask can only take bits away
        _check_private(path.parent, "audit directory", 0o700)
        if path.exists():
            _check_private(path, "audit file", 0o600)
        if path.exists() and path.stat().st_size:
            last = _last_line(path)
            if last is not None:
                try:
                    rec = json.loads(last)
                    self._seq, self._prev = int(rec["seq"]), str(rec["hash"])
                except (ValueError, KeyError, TypeError):
                    # Keep appending (requests must be recorded), but make the break visible: verify will flag it.
                    log.error("audit.tail_unreadable", file=str(path))
        # Line-buffered append: each record reaches the OS as a whole line at once. Created 0600 whatever the umask.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._fh = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
        log.info("audit.opened", file=str(path), records=self._seq, head=self._prev)

    def record(
        self,
        *,
        tenant: str,
        shop: str,
        rpc: str,
        customer: str,
        code: str,
        ms: float,
        request_id: str,
        order: str | None = None,
    ) -> dict[str, Any]:
        """Appends one answered request and returns the written record (``order`` only for a guest lookup)."""
        with self._lock:
            rec: dict[str, Any] = {
                "seq": self._seq + 1,
                "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "tenant": tenant,
                "shop": shop,
                "rpc": rpc,
                "customer": customer,
                "code": code,
                "ms": ms,
                "request_id": request_id,
            }
            if order is not None:
                rec["order"] = order
            rec["prev"] = self._prev
            rec["hash"] = _digest(self._prev, rec)
            self._fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._seq, self._prev = rec["seq"], rec["hash"]
            return rec

    def close(self) -> None:
        """Flushes and closes the file."""
        with self._lock:
            self._fh.close()


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify`: ``problems`` is empty for an intact chain."""

    records: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True if the chain is intact."""
        return not self.problems


def verify(path: Path, *, max_problems: int = 20) -> Verdict:
    """Recomputes the hash chain of an audit file.

    Returns:
        How many records there are, the last hash, and one message per break (line number and what is wrong).
    """
    prev, seq, count = GENESIS, 0, 0
    problems: list[str] = []
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if len(problems) >= max_problems:
                problems.append("… further problems not shown")
                break
            if not line.strip():
                problems.append(f"line {lineno}: empty line")
                continue
            try:
                rec = json.loads(line)
                stated_hash, stated_prev, stated_seq = str(rec["hash"]), str(rec["prev"]), int(rec["seq"])
                actual = _digest(stated_prev, rec)
            except (ValueError, KeyError, TypeError):
                problems.append(f"line {lineno}: not a complete audit record")
                continue
            count += 1
            if actual != stated_hash:
                problems.append(f"line {lineno}: record {stated_seq} was edited (its hash does not match)")
            if stated_seq != seq + 1:
                problems.append(f"line {lineno}: record {stated_seq} follows record {seq} (removed or reordered)")
            if stated_prev != prev:
                problems.append(f"line {lineno}: record {stated_seq} does not chain to the line before it")
            prev, seq = stated_hash, stated_seq
    return Verdict(records=count, head=prev, problems=problems)
