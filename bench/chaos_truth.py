"""The chaos run's judge: what the ERP holds, read from its database directly, and whether an answer agrees.

An answer is never compared with an earlier answer of the system under test: that would bless whatever the system
said first. Instead:

* orders (static during the run) are read from the ERP's tables once: who owns which order, its lines and total,
  each customer's history newest first. A GetOrder of another customer's or of a missing order must be NOT_FOUND;
  an answered one must carry the asked order's lines and total; a ListOrders page must be exactly the first
  orders of the customer's history;
* stock changes all the time: :class:`StockWriter` rewrites ``store_stock.on_hand`` of the watched SKUs several
  times a second and records every state in :class:`StockHistory` with the moments before and after its commit.
  A state may have been current from just before its write began until the next write's commit was confirmed,
  so a stock answer is correct if it equals a state that may have been current at some moment between the
  call's start and its end. Every store row of the answer must come from that one state (the agent reads them
  in one statement), classified by the rules of docs/stock.md with the thresholds the chaos agent is given.

A failed write (the database went away mid-commit) may or may not have committed; the writer then reads the rows
back once the database is reachable and records what it finds as a state current since the failed attempt began.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from google.protobuf.message import Message

from onlineconnect.v1 import orders_pb2, stock_pb2

# Pinned in the chaos agent's [stock] table, so the judge and the agent apply the same thresholds on purpose.
LOW_STOCK_THRESHOLD = 3
SHOW_QUANTITY_MAX = 10

CORRECT = "OK correct"
WRONG = "OK wrong"
NOT_FOUND_EXPECTED = "NOT_FOUND expected"
UNAVAILABLE = "UNAVAILABLE"
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"
OTHER = "other"
HUNG = "hung"
OUTCOMES = (CORRECT, WRONG, NOT_FOUND_EXPECTED, UNAVAILABLE, DEADLINE_EXCEEDED, OTHER, HUNG)
SUCCESS = {CORRECT, NOT_FOUND_EXPECTED}

Key = tuple[str, str]  # (sku, store_id)
Row = tuple[int, int, bool]  # (on_hand, reserved, display_only)
State = dict[Key, Row]


def expected_level(on_hand: int, reserved: int, display_only: bool) -> tuple[int, int, bool]:
    """(quantity_available, availability, show_quantity) of one store row, by the rules of docs/stock.md."""
    if display_only and on_hand > 0:
        return 0, stock_pb2.AVAILABILITY_DISPLAY_ONLY, False
    available = max(0, on_hand - max(0, reserved))
    if available == 0:
        return 0, stock_pb2.AVAILABILITY_OUT_OF_STOCK, False
    level = stock_pb2.AVAILABILITY_LOW_STOCK if available <= LOW_STOCK_THRESHOLD else stock_pb2.AVAILABILITY_IN_STOCK
    if available <= SHOW_QUANTITY_MAX:
        return available, level, True
    return 0, level, False


@dataclass(frozen=True)
class OrderFacts:
    """One order as the ERP holds it."""

    customer: str
    lines: frozenset[tuple[int, str, int]]  # (line_no, sku, qty_ordered)
    total_minor: int


@dataclass(frozen=True)
class ErpFacts:
    """The ERP's orders and stores, read once (nothing changes them during the run)."""

    orders: dict[str, OrderFacts]
    history: dict[str, list[str]]  # customer -> order numbers, newest first
    stores: list[str]  # active stores in the answer's order without a location: sort_order, store_id
    skus: frozenset[str]

    @classmethod
    def read(cls, conninfo: str) -> ErpFacts:
        """Reads the facts with a connection of its own."""
        with psycopg.connect(conninfo) as conn:
            lines: dict[str, set[tuple[int, str, int]]] = {}
            for order_no, line_no, sku, qty in conn.execute(
                "SELECT order_no, line_no, sku, qty_ordered FROM order_lines"
            ):
                lines.setdefault(str(order_no), set()).add((int(line_no), str(sku or ""), int(qty)))
            orders: dict[str, OrderFacts] = {}
            history: dict[str, list[str]] = {}
            for order_no, customer, total in conn.execute(
                "SELECT order_no, customer_no, total_minor FROM orders ORDER BY order_date DESC, order_no DESC"
            ):
                orders[str(order_no)] = OrderFacts(str(customer), frozenset(lines.get(str(order_no), ())), int(total))
                history.setdefault(str(customer), []).append(str(order_no))
            stores = [
                str(r[0]).strip()
                for r in conn.execute("SELECT store_id FROM stores WHERE active = 1 ORDER BY sort_order, store_id")
            ]
            skus = frozenset(str(r[0]) for r in conn.execute("SELECT sku FROM article_variants"))
        return cls(orders, history, stores, skus)


def read_stock(conn: psycopg.Connection[tuple[object, ...]], skus: Sequence[str]) -> State:
    """The store rows of ``skus`` as they are now."""
    rows = conn.execute(
        "SELECT sku, store_id, on_hand, reserved, display_only FROM store_stock WHERE sku = ANY(%s)", (list(skus),)
    )
    return {(str(s), str(st).strip()): (int(oh or 0), int(rs or 0), bool(d)) for s, st, oh, rs, d in rows}


@dataclass
class _Entry:
    since: float  # the state may have been current from this moment (its write began)
    confirmed: float  # it certainly was current at this moment (its commit returned, or it was read back)
    state: State


class StockHistory:
    """Every state of the watched stock rows in order, with the window in which each may have become current."""

    def __init__(self, initial: State, read_at: float) -> None:
        self._entries = [_Entry(float("-inf"), read_at, dict(initial))]
        self._since: list[float] = [float("-inf")]
        self._lock = threading.Lock()

    def record(self, since: float, confirmed: float, state: State) -> None:
        """Adds a state that may have become current at ``since`` and certainly was at ``confirmed``."""
        with self._lock:
            self._entries.append(_Entry(since, confirmed, dict(state)))
            self._since.append(since)

    def __len__(self) -> int:
        return len(self._entries)

    def states(self, start: float, end: float) -> list[State]:
        """The states that may have been current at some moment in [``start``, ``end``].

        State i may be current from its ``since`` until the next state's ``confirmed``.
        """
        with self._lock:
            last = bisect.bisect_right(self._since, end)  # entries that may have begun by ``end``
            out = []
            for i in range(last):
                ends = self._entries[i + 1].confirmed if i + 1 < len(self._entries) else float("inf")
                if ends >= start:
                    out.append(self._entries[i].state)
            return out


class StockWriter(threading.Thread):
    """Rewrites ``on_hand`` of a few watched store rows every ``interval`` seconds and records every state."""

    def __init__(
        self, conninfo: str, skus: list[str], history: StockHistory, state: State, *, interval: float, seed: int
    ) -> None:
        super().__init__(daemon=True, name="stock-writer")
        self.conninfo = conninfo
        self.skus = skus
        self.history = history
        self.state = state
        self.interval = interval
        self.seed = seed
        self.writes = 0
        self.failures = 0
        self.halt = threading.Event()

    def run(self) -> None:
        rnd = random.Random(self.seed)
        keys = sorted(self.state)
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        uncertain_since: float | None = None
        while not self.halt.wait(self.interval):
            attempt: float | None = None
            try:
                if conn is None:
                    conn = psycopg.connect(self.conninfo, connect_timeout=2)
                if uncertain_since is not None:
                    self.state = read_stock(conn, self.skus)
                    conn.commit()
                    self.history.record(uncertain_since, time.monotonic(), self.state)
                    uncertain_since = None
                changes = {}
                for key in rnd.sample(keys, min(3, len(keys))):
                    _, reserved, display_only = self.state[key]
                    changes[key] = (rnd.randint(0, reserved + SHOW_QUANTITY_MAX + 3), reserved, display_only)
                attempt = time.monotonic()
                with conn.cursor() as cur:
                    for (sku, store), (on_hand, _, _) in changes.items():
                        cur.execute(
                            "UPDATE store_stock SET on_hand = %s WHERE sku = %s AND store_id = %s",
                            (on_hand, sku, store),
                        )
                conn.commit()
                self.state = {**self.state, **changes}
                self.history.record(attempt, time.monotonic(), self.state)
                self.writes += 1
            except psycopg.Error:
                self.failures += 1
                if attempt is not None and uncertain_since is None:
                    uncertain_since = attempt
                if conn is not None:
                    try:
                        conn.close()
                    except psycopg.Error:
                        pass
                conn = None
        if conn is not None:
            conn.close()


class Judge:
    """Classifies each call's outcome against the ERP."""

    def __init__(self, facts: ErpFacts, history: StockHistory) -> None:
        self.facts = facts
        self.history = history

    def classify(
        self, request: Message, answer: Message | None, code: str, start: float, end: float
    ) -> tuple[str, str]:
        """(outcome, reason) of one finished call; ``code`` is the gRPC status name, ``answer`` set when OK."""
        expect_not_found, reason_nf = self._expect_not_found(request)
        if code == "NOT_FOUND":
            return (NOT_FOUND_EXPECTED, "") if expect_not_found else (OTHER, f"NOT_FOUND, but {reason_nf}")
        if code in {UNAVAILABLE, DEADLINE_EXCEEDED}:
            return code, ""
        if code != "OK" or answer is None:
            return OTHER, code
        if expect_not_found:
            return WRONG, f"answered, but {reason_nf}"
        problem = self._check(request, answer, start, end)
        return (WRONG, problem) if problem else (CORRECT, "")

    def _expect_not_found(self, request: Message) -> tuple[bool, str]:
        """Whether the ERP says NOT_FOUND is the right answer, and why (or why not)."""
        if isinstance(request, orders_pb2.GetOrderRequest):
            order = self.facts.orders.get(request.order_number)
            if order is None:
                return True, f"order {request.order_number} does not exist"
            if order.customer != request.customer_number:
                return True, f"order {request.order_number} is customer {order.customer}'s"
            return False, f"order {request.order_number} is customer {order.customer}'s own"
        if isinstance(request, stock_pb2.GetStoreStockRequest):
            known = request.sku in self.facts.skus
            return not known, f"SKU {request.sku} {'exists' if known else 'does not exist'}"
        return False, "the request asks for nothing that could be missing"

    def _check(self, request: Message, answer: Message, start: float, end: float) -> str:
        if isinstance(request, orders_pb2.GetOrderRequest):
            assert isinstance(answer, orders_pb2.GetOrderResponse)
            return self._check_order(request, answer)
        if isinstance(request, orders_pb2.ListOrdersRequest):
            assert isinstance(answer, orders_pb2.ListOrdersResponse)
            want = self.facts.history.get(request.customer_number, [])
            got = [o.order_number for o in answer.orders]
            if got != want[: request.page_size]:
                return f"page {got} for customer {request.customer_number}, ERP: {want[: request.page_size]}"
            if bool(answer.next_page_token) != (len(want) > request.page_size):
                return f"next_page_token {answer.next_page_token!r} with {len(want)} orders in the ERP"
            return ""
        states = self.history.states(start, end)
        if isinstance(request, stock_pb2.GetStoreStockRequest):
            assert isinstance(answer, stock_pb2.GetStoreStockResponse)
            problems = [self._check_stock(request.sku, answer, s) for s in states]
        else:
            assert isinstance(request, stock_pb2.BatchGetStoreStockRequest)
            assert isinstance(answer, stock_pb2.BatchGetStoreStockResponse)
            problems = [self._check_batch(request, answer, s) for s in states]
        if not problems or all(problems):
            return f"matches none of the {len(states)} states current during the call: {problems[:1]}"
        return ""

    def _check_order(self, request: orders_pb2.GetOrderRequest, answer: orders_pb2.GetOrderResponse) -> str:
        facts = self.facts.orders[request.order_number]
        order = answer.order
        if order.summary.order_number != request.order_number:
            return f"asked {request.order_number}, answered {order.summary.order_number}"
        lines = frozenset((li.line_number, li.sku, li.quantity_ordered) for li in order.lines)
        if lines != facts.lines:
            return f"lines {sorted(lines)} of {request.order_number}, ERP: {sorted(facts.lines)}"
        if order.summary.total.amount_minor != facts.total_minor:
            return f"total {order.summary.total.amount_minor}, ERP: {facts.total_minor}"
        return ""

    def _check_stock(self, sku: str, answer: stock_pb2.GetStoreStockResponse, state: State) -> str:
        if answer.article.sku != sku:
            return f"asked {sku}, answered {answer.article.sku}"
        stores = [s.store.store_id for s in answer.stores]
        if stores != self.facts.stores:
            return f"stores {stores}, ERP: {self.facts.stores}"
        for s in answer.stores:
            want = expected_level(*state.get((sku, s.store.store_id), (0, 0, False)))
            got = (s.quantity_available, s.availability, s.show_quantity)
            if got != want:
                return f"{sku} in {s.store.store_id}: {got}, ERP: {want}"
        return ""

    def _check_batch(
        self, request: stock_pb2.BatchGetStoreStockRequest, answer: stock_pb2.BatchGetStoreStockResponse, state: State
    ) -> str:
        asked = list(dict.fromkeys(request.skus))
        if [e.sku for e in answer.entries] != asked:
            return f"entries {[e.sku for e in answer.entries]} for {asked}"
        for entry in answer.entries:
            if entry.sku not in self.facts.skus:
                if entry.code != 5:
                    return f"unknown {entry.sku} got code {entry.code}"
                continue
            if entry.code != 0:
                return f"{entry.sku} got code {entry.code}: {entry.message}"
            problem = self._check_stock(entry.sku, entry.stock, state)
            if problem:
                return problem
        return ""
