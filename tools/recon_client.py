"""A small, thread-safe client for Recon's HTTP ingest API. Standard library only.

    from recon_client import ReconClient, order_submitted, fill

    with ReconClient("http://127.0.0.1:7878", token) as recon:
        recon.append(order_submitted(account="bot1", order_id="o1", symbol="BTC/USDT:USDT",
                                     side="buy", qty="0.010", price="50000", order_type="limit"))
        recon.append(fill(account="bot1", fill_id="f1", order_id="o1", symbol="BTC/USDT:USDT",
                          side="buy", qty="0.010", price="50000", fee="0.05", fee_asset="USDT",
                          liquidity="maker"))
    # leaving the block flushes; so does interpreter exit (atexit)

What it guarantees:

* Every event gets a stable ``id`` (the idempotency key): the caller's, or one
  derived from the event's content (plus an optional caller ``key``), so sending
  the same event again -- after a timeout, a crash, a restart -- is a duplicate the
  server ignores, never a second event.
* Decimals are written as plain decimal strings (``"0.000000336"``), never as JSON
  floats and never in exponent form.
* Connection errors, 5xx, 429 and 503 are retried with exponential backoff and
  jitter; ``Retry-After`` is honoured. 400, 401, 409 are never retried: they raise
  :class:`ReconRejected` carrying the server's message, line and field. A 413
  splits the batch in halves until it fits.
* Order is preserved: one batch in flight at a time, in append order.

Limits: at most ``batch_size`` events and ``max_batch_bytes`` per request; at most
``max_buffered`` events waiting -- beyond that ``append`` flushes in the caller's
thread (back-pressure) instead of growing without bound.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import http.client
import json
import logging
import math
import random
import socket
import sys
import threading
import time
import urllib.parse
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "ReconClient",
    "ReconError",
    "ReconRejected",
    "ReconAuthError",
    "ReconUnavailable",
    "decimal_str",
    "normalize_event",
    "stable_id",
    "instrument",
    "order_submitted",
    "order_canceled",
    "order_rejected",
    "fill",
    "transfer",
    "recon_requested",
    "now_ms",
]

log = logging.getLogger("recon_client")

MAX_ID_LENGTH = 128
EVENT_TYPES = frozenset({
    "instrument", "order_submitted", "order_canceled", "order_rejected", "fill", "transfer",
    "exchange_snapshot", "exchange_fills", "exchange_position_history", "recon_requested", "correction",
})
#: Envelope and other integer fields: never turned into decimal strings.
_INTEGER_FIELDS = frozenset({"ts_ms", "from_ms", "to_ms", "entry_ts_ms", "close_ts_ms", "seq", "ingest_ms"})


# ---------------------------------------------------------------------------
# Errors


class ReconError(Exception):
    """Anything that went wrong talking to Recon."""


class ReconRejected(ReconError):
    """The server refused input for good (400, 401, 409, 413 on a single event).

    ``status``, ``error`` (``bad_request``, ``conflict`` ...), ``message``, ``line``
    and ``field`` are the server's; ``event`` is the event it named, when it named
    one. Retrying the same input would fail the same way.
    """

    def __init__(self, status: int, error: str, message: str, line: Optional[int] = None,
                 field: Optional[str] = None, event: Optional[Mapping[str, Any]] = None):
        self.status = status
        self.error = error
        self.message = message
        self.line = line
        self.field = field
        self.event = event
        where = f" (event id {event.get('id')!r})" if event else ""
        super().__init__(f"Recon rejected the input: HTTP {status} {error}: {message}{where}")


class ReconAuthError(ReconRejected):
    """401: the token is missing or wrong. Events stay buffered."""


class ReconUnavailable(ReconError):
    """Retries ran out (server down, overloaded, or failing). Events stay buffered."""

    def __init__(self, message: str, attempts: int, last_status: Optional[int] = None):
        self.attempts = attempts
        self.last_status = last_status
        super().__init__(message)


# ---------------------------------------------------------------------------
# Values


def now_ms() -> int:
    """The local clock in integer milliseconds."""
    return time.time_ns() // 1_000_000


def decimal_str(value: Any) -> str:
    """Plain decimal text for Recon: ``Decimal``, ``int``, ``str`` or ``float``.

    Floats go through ``repr`` (the shortest text that reads back as the same
    float, so ``0.1`` is ``"0.1"``), then to plain notation: ``3.36e-7`` becomes
    ``"0.000000336"``. Bools, NaN and Infinity are rejected with ``ValueError``.
    Trailing fractional zeros are kept as given (``"0.010"`` stays ``"0.010"``);
    Recon compares values, not text.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a decimal, got a bool ({value!r})")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        return str(value)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"{value!r} cannot be a Recon decimal")
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    else:
        raise ValueError(f"expected a decimal, got {type(value).__name__} ({value!r})")
    if not d.is_finite():
        raise ValueError(f"{value!r} cannot be a Recon decimal")
    s = format(d, "f")
    if s.startswith("-") and d == 0:
        s = s[1:]
    return s


def _plain_values(value: Any, key: Optional[str], path: str) -> Any:
    """Recursively replaces floats and Decimals by decimal strings."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path or 'event'}: keys must be strings, got {k!r}")
            out[k] = _plain_values(v, k, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain_values(v, key, f"{path}[{i}]") for i, v in enumerate(value)]
    if key in _INTEGER_FIELDS:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        raise ValueError(f"{path}: expected integer milliseconds, got {value!r}")
    if isinstance(value, (float, Decimal)):
        try:
            return decimal_str(value)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None
    if isinstance(value, (int, str)):
        return value
    raise ValueError(f"{path}: cannot send a {type(value).__name__} ({value!r})")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stable_id(event: Mapping[str, Any], key: Any = None) -> str:
    """A deterministic id: ``<type>:`` + sha256 of the canonical event (without ``id``)
    and ``key``. The same event (and key) always gets the same id.

    Two genuinely different events with identical content (two equal transfers in
    the same millisecond) need distinct ``key`` values (e.g. the bot's own
    sequence number), or the second is taken for a retry of the first.
    """
    body = {k: v for k, v in event.items() if k != "id"}
    material = _canonical(body) + "\x00" + ("" if key is None else _canonical(key))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]
    return f"{body.get('type', 'event')}:{digest}"


def normalize_event(event: Mapping[str, Any], key: Any = None) -> Dict[str, Any]:
    """The event as it will be sent: decimals as strings, an ``id`` assigned,
    the envelope checked (``type``, ``account``, ``ts_ms``)."""
    if not isinstance(event, Mapping):
        raise ValueError(f"an event is a dict, got {type(event).__name__}")
    out = _plain_values(event, None, "")
    etype = out.get("type")
    if etype not in EVENT_TYPES:
        raise ValueError(f"field \"type\": unknown event type {etype!r}")
    account = out.get("account")
    if not isinstance(account, str) or not account:
        raise ValueError("field \"account\": a non-empty string is required")
    ts = out.get("ts_ms")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        raise ValueError(f"field \"ts_ms\": non-negative integer milliseconds required, got {ts!r}")
    if out.get("id") is None:
        out.pop("id", None)
        out = {"id": stable_id(out, key), **out}
    eid = out["id"]
    if not isinstance(eid, str) or not (1 <= len(eid) <= MAX_ID_LENGTH):
        raise ValueError(f"field \"id\": 1 to {MAX_ID_LENGTH} characters required, got {eid!r}")
    return out


# ---------------------------------------------------------------------------
# Event builders (local events)


def _envelope(etype: str, account: str, ts_ms: Optional[int], venue: Optional[str], id: Optional[str]) -> Dict[str, Any]:
    e: Dict[str, Any] = {"type": etype}
    if id is not None:
        e["id"] = id
    e["account"] = account
    e["ts_ms"] = now_ms() if ts_ms is None else ts_ms
    if venue is not None:
        e["venue"] = venue
    return e


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"field \"{name}\": expected one of {', '.join(allowed)}, got {value!r}")
    return value


def instrument(*, account: str, symbol: str, kind: str, base: str, quote: str, contract_size: Any = None,
               ts_ms: Optional[int] = None, venue: Optional[str] = None, id: Optional[str] = None) -> Dict[str, Any]:
    """Declares a symbol (``kind`` ``spot`` or ``perp``)."""
    e = _envelope("instrument", account, ts_ms, venue, id)
    e.update(symbol=symbol, kind=_choice("kind", kind, ("spot", "perp")), base=base, quote=quote)
    if contract_size is not None:
        e["contract_size"] = decimal_str(contract_size)
    return e


def order_submitted(*, account: str, order_id: str, symbol: str, side: str, qty: Any, price: Any = None,
                    order_type: Optional[str] = None, post_only: bool = False, reduce_only: bool = False,
                    ts_ms: Optional[int] = None, venue: Optional[str] = None, id: Optional[str] = None) -> Dict[str, Any]:
    """An order the bot sent. ``order_type`` defaults to ``limit`` with a price, ``market`` without."""
    if order_type is None:
        order_type = "market" if price is None else "limit"
    _choice("order_type", order_type, ("limit", "market"))
    if order_type == "limit" and price is None:
        raise ValueError("field \"price\": a limit order needs a price")
    e = _envelope("order_submitted", account, ts_ms, venue, id)
    e.update(order_id=order_id, symbol=symbol, side=_choice("side", side, ("buy", "sell")), qty=decimal_str(qty))
    if price is not None:
        e["price"] = decimal_str(price)
    e.update(order_type=order_type, post_only=bool(post_only), reduce_only=bool(reduce_only))
    return e


def order_canceled(*, account: str, order_id: str, ts_ms: Optional[int] = None, venue: Optional[str] = None,
                   id: Optional[str] = None) -> Dict[str, Any]:
    e = _envelope("order_canceled", account, ts_ms, venue, id)
    e["order_id"] = order_id
    return e


def order_rejected(*, account: str, order_id: str, reason: str, ts_ms: Optional[int] = None,
                   venue: Optional[str] = None, id: Optional[str] = None) -> Dict[str, Any]:
    e = _envelope("order_rejected", account, ts_ms, venue, id)
    e.update(order_id=order_id, reason=reason)
    return e


def fill(*, account: str, fill_id: str, order_id: str, symbol: str, side: str, qty: Any, price: Any, fee: Any,
         fee_asset: str, liquidity: str, ts_ms: Optional[int] = None, venue: Optional[str] = None,
         id: Optional[str] = None) -> Dict[str, Any]:
    """A fill the bot saw. ``fee`` > 0 is a charge, < 0 a rebate; it is required."""
    if fee is None:
        raise ValueError("field \"fee\": a bot's fill needs a fee (use \"0\" only if it truly was zero)")
    e = _envelope("fill", account, ts_ms, venue, id)
    e.update(fill_id=fill_id, order_id=order_id, symbol=symbol, side=_choice("side", side, ("buy", "sell")),
             qty=decimal_str(qty), price=decimal_str(price), fee=decimal_str(fee), fee_asset=fee_asset,
             liquidity=_choice("liquidity", liquidity, ("maker", "taker")))
    return e


def transfer(*, account: str, asset: str, amount: Any, kind: str, ts_ms: Optional[int] = None,
             venue: Optional[str] = None, id: Optional[str] = None) -> Dict[str, Any]:
    """Money in (+) or out (-) that is not a trade."""
    e = _envelope("transfer", account, ts_ms, venue, id)
    e.update(asset=asset, amount=decimal_str(amount),
             kind=_choice("kind", kind, ("deposit", "withdrawal", "funding", "adjustment")))
    return e


def recon_requested(*, account: str, requested_by: str, ts_ms: Optional[int] = None,
                    venue: Optional[str] = None, id: Optional[str] = None) -> Dict[str, Any]:
    e = _envelope("recon_requested", account, ts_ms, venue, id)
    e["requested_by"] = requested_by
    return e


# ---------------------------------------------------------------------------
# The client


class _Item:
    __slots__ = ("id", "line", "event")

    def __init__(self, event: Dict[str, Any]):
        self.event = event
        self.id = event["id"]
        # Serialized once: a retry sends exactly the same bytes.
        self.line = json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class _Failure(Exception):
    """Internal: a batch stopped part-way. ``done`` leading items are durable."""

    def __init__(self, done: int, error: ReconError, rejected_index: Optional[int] = None):
        super().__init__(str(error))
        self.done = done
        self.error = error
        self.rejected_index = rejected_index


class ReconClient:
    """Buffers events and sends them to Recon in ordered, idempotent batches.

    Parameters: ``batch_size`` events per request at most; ``flush_interval_s``
    how often the background thread sends what is buffered (0 or None: no thread,
    only explicit :meth:`flush`); ``max_retries`` attempts after the first for
    retryable failures; backoff ``backoff_base_s * 2**n`` capped at
    ``backoff_max_s``, with full jitter; ``Retry-After`` honoured up to
    ``max_retry_after_s``; ``timeout_s`` per request; ``max_batch_bytes`` per body;
    ``max_buffered`` events waiting before ``append`` sends in the caller's thread;
    ``flush_at_exit`` registers an ``atexit`` flush.
    """

    def __init__(self, base_url: str, token: str, batch_size: int = 500, flush_interval_s: Optional[float] = 1.0,
                 max_retries: int = 6, backoff_base_s: float = 0.2, backoff_max_s: float = 10.0,
                 max_retry_after_s: float = 60.0, timeout_s: float = 10.0, max_batch_bytes: int = 4 * 1024 * 1024,
                 max_buffered: int = 100_000, flush_at_exit: bool = True,
                 sleep: Callable[[float], None] = time.sleep,
                 on_rejected: Optional[Callable[[ReconRejected], None]] = None):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"base_url must be http(s)://host[:port], got {base_url!r}")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self.base_url = base_url
        self._token = token
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.timeout_s = timeout_s
        self.max_batch_bytes = max_batch_bytes
        self.max_buffered = max_buffered
        self._sleep = sleep
        self._on_rejected = on_rejected

        self._lock = threading.Lock()           # guards the buffer and counters
        self._send_lock = threading.RLock()     # one batch in flight, in order
        self._wake = threading.Condition(self._lock)
        self._buffer: Deque[_Item] = collections.deque()
        self._closed = False
        self._pending_rejections: List[ReconRejected] = []
        #: Events the server refused for good, with the error, oldest first.
        self.rejected: List[Tuple[Dict[str, Any], ReconRejected]] = []
        #: The last error the background flusher met (None after a success).
        self.last_error: Optional[BaseException] = None
        self.stats = {"appended": 0, "duplicates": 0, "requests": 0, "retries": 0, "splits": 0}
        #: The server's per-event results (id, seq, duplicate) of the last successful batch.
        self.last_results: List[Dict[str, Any]] = []

        self._thread: Optional[threading.Thread] = None
        if flush_interval_s:
            self._thread = threading.Thread(target=self._run, name="recon-client-flusher", daemon=True)
            self._thread.start()
        self._atexit_cb: Optional[Callable[[], None]] = None
        if flush_at_exit:
            self._atexit_cb = self._flush_at_exit
            atexit.register(self._atexit_cb)

    # -- public API --------------------------------------------------------

    def append(self, event: Mapping[str, Any], key: Any = None) -> str:
        """Queues one event and returns its id. Thread-safe.

        Missing ``id``: a stable one is derived (see :func:`stable_id`). Floats and
        Decimals become plain decimal strings. Invalid envelopes raise ValueError
        here, not later in a batch.
        """
        item = _Item(normalize_event(event, key))
        with self._lock:
            if self._closed:
                raise ReconError("the client is closed")
            self._buffer.append(item)
            size = len(self._buffer)
            if size >= self.batch_size:
                self._wake.notify()
        if size >= self.max_buffered:
            self.flush()
        return item.id

    def extend(self, events: Sequence[Mapping[str, Any]]) -> List[str]:
        """Queues several events; returns their ids."""
        return [self.append(e) for e in events]

    def pending(self) -> int:
        """How many events wait to be sent."""
        with self._lock:
            return len(self._buffer)

    def flush(self) -> None:
        """Sends everything buffered now, in order; returns when it is durable.

        Raises :class:`ReconRejected` if the server refused an event (that event is
        moved to :attr:`rejected` and the rest are still sent),
        :class:`ReconAuthError` on 401 and :class:`ReconUnavailable` when retries run
        out (in both cases the events stay buffered for the next flush).
        """
        with self._send_lock:
            while True:
                with self._lock:
                    batch = self._take_batch()
                if not batch:
                    break
                try:
                    self._send_items(batch, 0)
                    self._drop_front(len(batch))
                except _Failure as f:
                    self._drop_front(f.done)
                    if f.rejected_index is not None:
                        self._reject(f.rejected_index - f.done, f.error)  # type: ignore[arg-type]
                        continue  # the others still go
                    raise f.error from None
            with self._lock:
                rejections, self._pending_rejections = self._pending_rejections, []
            if rejections:
                first = rejections[0]
                if len(rejections) > 1:
                    first.args = (f"{first.args[0]} (and {len(rejections) - 1} more rejected; see client.rejected)",)
                raise first

    def close(self) -> None:
        """Flushes, stops the background thread and the atexit hook. Idempotent."""
        with self._lock:
            already = self._closed
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.timeout_s * 2)
        if self._atexit_cb is not None:
            atexit.unregister(self._atexit_cb)
            self._atexit_cb = None
        if not already or self.pending():
            self.flush()

    def __enter__(self) -> "ReconClient":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def health(self) -> Dict[str, Any]:
        """``GET /healthz``."""
        status, _, data = self._request("GET", "/healthz", None, None)
        if status != 200:
            raise ReconError(f"health check: HTTP {status}: {data[:200]!r}")
        return json.loads(data or b"{}")

    def reconcile(self, account: str, requested_by: str, flush: bool = True) -> Dict[str, Any]:
        """``POST /v1/reconcile``: an on-demand run; returns the report (or, if the
        run takes longer than the server waits, ``{"status": "pending", "seq": N}``).

        Buffered events are flushed first so the run sees them. Only failures where
        the run certainly did not start (connection refused, 503) are retried: the
        server records every request as a ``recon_requested`` event.
        """
        if flush:
            self.flush()
        body = json.dumps({"account": account, "requested_by": requested_by}).encode("utf-8")
        status, headers, data = self._post_with_retries("/v1/reconcile", body, "application/json", safe_only=True)
        if status not in (200, 202):
            raise self._error_from(status, data, None)
        # 202: recorded, but the run did not finish within the server's wait;
        # the answer is {"status": "pending", "seq": N} and the report follows
        # at GET /v1/reports/latest.
        return json.loads(data)

    # -- batching ----------------------------------------------------------

    def _take_batch(self) -> List[_Item]:
        batch: List[_Item] = []
        size = 0
        for item in self._buffer:
            if batch and (len(batch) >= self.batch_size or size + len(item.line) + 1 > self.max_batch_bytes):
                break
            batch.append(item)
            size += len(item.line) + 1
        return batch

    def _drop_front(self, n: int) -> None:
        with self._lock:
            for _ in range(n):
                self._buffer.popleft()

    def _reject(self, index: int, error: ReconRejected) -> None:
        with self._lock:
            item = self._buffer[index]
            del self._buffer[index]
            error.event = item.event
            error.args = (f"{error.args[0]} (event id {item.id!r})",)
            self.rejected.append((item.event, error))
            self._pending_rejections.append(error)
        log.error("recon: event %s rejected: %s", item.id, error.message)
        if self._on_rejected is not None:
            try:
                self._on_rejected(error)
            except Exception:  # a callback's failure must not lose the batch
                log.exception("recon: on_rejected callback failed")

    def _send_items(self, items: List[_Item], offset: int) -> None:
        """Sends ``items`` (which start at ``offset`` in the current batch).

        Raises _Failure with ``done`` counted from the batch start.
        """
        body = b"\n".join(i.line for i in items) + b"\n"
        try:
            status, headers, data = self._post_with_retries("/v1/events", body, "application/x-ndjson")
        except ReconUnavailable as e:
            raise _Failure(offset, e) from None
        if status == 200:
            self._record_success(items, data)
            return
        if status == 413 or (status == 400 and self._line_of(data, len(items)) is None and len(items) > 1):
            # Too large, or bad without saying which line: halve until it fits / is found.
            if len(items) == 1:
                raise _Failure(offset, self._error_from(status, data, items[0].event), rejected_index=offset)
            self.stats["splits"] += 1
            mid = len(items) // 2
            self._send_items(items[:mid], offset)
            self._send_items(items[mid:], offset + mid)
            return
        line = self._line_of(data, len(items))
        if status in (400, 409):
            index = (line - 1) if line is not None else 0
            raise _Failure(offset, self._error_from(status, data, items[index].event), rejected_index=offset + index)
        raise _Failure(offset, self._error_from(status, data, None))

    def _record_success(self, items: List[_Item], data: bytes) -> None:
        try:
            reply = json.loads(data)
        except ValueError:
            reply = {}
        results = reply.get("results") if isinstance(reply, dict) else None
        with self._lock:
            if isinstance(results, list):
                self.last_results = results
                dups = sum(1 for r in results if isinstance(r, dict) and r.get("duplicate"))
                self.stats["duplicates"] += dups
                self.stats["appended"] += len(results) - dups
            else:
                self.stats["appended"] += reply.get("appended", len(items)) if isinstance(reply, dict) else len(items)

    @staticmethod
    def _line_of(data: bytes, count: int) -> Optional[int]:
        try:
            line = json.loads(data).get("line")
        except (ValueError, AttributeError):
            return None
        if isinstance(line, int) and not isinstance(line, bool) and 1 <= line <= count:
            return line
        return None

    @staticmethod
    def _error_from(status: int, data: bytes, event: Optional[Mapping[str, Any]]) -> ReconError:
        try:
            payload = json.loads(data)
            if not isinstance(payload, dict):
                raise ValueError
        except ValueError:
            payload = {"message": data.decode("utf-8", "replace")[:500]}
        error = str(payload.get("error") or {400: "bad_request", 401: "unauthorized", 409: "conflict",
                                              413: "too_large"}.get(status, "http_error"))
        message = str(payload.get("message") or f"HTTP {status}")
        line = payload.get("line") if isinstance(payload.get("line"), int) else None
        field = payload.get("field") if isinstance(payload.get("field"), str) else None
        if status == 401:
            return ReconAuthError(status, error, message, line, field, None)
        if status in (400, 409, 413):
            return ReconRejected(status, error, message, line, field, event)
        return ReconError(f"Recon answered HTTP {status} {error}: {message}")

    # -- HTTP --------------------------------------------------------------

    def _request(self, method: str, path: str, body: Optional[bytes], content_type: Optional[str]
                 ) -> Tuple[int, Mapping[str, str], bytes]:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout_s)
        try:
            headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json",
                       "Connection": "close"}
            if content_type:
                headers["Content-Type"] = content_type
            conn.request(method, self._prefix + path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def _retry_after(self, headers: Mapping[str, str]) -> Optional[float]:
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value.strip())
        except ValueError:
            try:
                from email.utils import parsedate_to_datetime
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                return None
        if not math.isfinite(seconds):
            return None
        return min(max(seconds, 0.0), self.max_retry_after_s)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)

    def _post_with_retries(self, path: str, body: bytes, content_type: str, safe_only: bool = False
                           ) -> Tuple[int, Mapping[str, str], bytes]:
        """POSTs, retrying what may be retried; returns the final (status, headers, body).

        Retried: connection errors and timeouts, 5xx, 429, 503 (with Retry-After).
        With ``safe_only`` only failures that prove the request was not processed
        (connection refused, 503, 429) are retried.
        """
        attempt = 0
        while True:
            self.stats["requests"] += 1
            retry_after: Optional[float] = None
            try:
                status, headers, data = self._request("POST", path, body, content_type)
            except ConnectionRefusedError as e:
                status, reason = None, f"connection refused: {e}"
            except (OSError, http.client.HTTPException, socket.timeout) as e:
                if safe_only:
                    raise ReconUnavailable(f"{path}: {type(e).__name__}: {e} (not retried: the request may have run)",
                                           attempt + 1) from e
                status, reason = None, f"{type(e).__name__}: {e}"
            else:
                if status in (429, 503) or (status >= 500 and not safe_only):
                    retry_after = self._retry_after(headers)
                    reason = f"HTTP {status}: {data[:200].decode('utf-8', 'replace')}"
                else:
                    return status, headers, data
            attempt += 1
            if attempt > self.max_retries:
                raise ReconUnavailable(f"{path}: gave up after {attempt} attempts; last: {reason}", attempt, status)
            delay = retry_after + random.uniform(0, min(0.25, retry_after * 0.1)) if retry_after is not None \
                else self._backoff(attempt)
            self.stats["retries"] += 1
            log.warning("recon: %s failed (%s); retry %d/%d in %.2fs", path, reason, attempt, self.max_retries, delay)
            self._sleep(delay)

    # -- background --------------------------------------------------------

    def _run(self) -> None:
        interval = float(self.flush_interval_s or 1.0)
        failed = False
        while True:
            with self._lock:
                if self._closed:
                    return
                if failed or len(self._buffer) < self.batch_size:
                    # After a failure always wait a full interval: no hot loop on 401.
                    self._wake.wait(timeout=interval)
                if self._closed:
                    return
                has_work = bool(self._buffer)
            failed = False
            if not has_work:
                continue
            try:
                self.flush()
                self.last_error = None
            except ReconRejected as e:
                # Logged and kept in self.rejected; the next explicit flush() raises it.
                failed = isinstance(e, ReconAuthError)
                self.last_error = e
                if not failed:
                    with self._lock:
                        self._pending_rejections.append(e)
            except Exception as e:  # keep running: the next tick retries
                failed = True
                self.last_error = e
                log.warning("recon: background flush failed: %s", e)

    def _flush_at_exit(self) -> None:
        try:
            self.close()
        except Exception as e:  # at exit there is nobody to raise to
            print(f"recon_client: flush at exit failed: {e}; {self.pending()} event(s) not sent",
                  file=sys.stderr)
