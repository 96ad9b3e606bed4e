"""Turn ccxt's unified structures into Recon remote events (CONTRACT section 10).

Standard library only. Two entry points:

* :func:`snapshot_event` builds one ``exchange_snapshot`` from the results of
  ``fetch_positions``, ``fetch_open_orders`` and ``fetch_balance``.
* :func:`fills_event` builds one ``exchange_fills`` window from the result of
  ``fetch_my_trades``, plus a ``transfer`` (kind ``funding``) for every funding
  payment the venue listed among the trades.

Both return a :class:`Converted` ``(events, notes)``: the events to post and a
list of notes (plain dicts with ``kind``, ``message`` and identifying fields)
recording every place where the venue's data was incomplete or unusual and what
the converter did about it. Recon rejects unknown event fields, so the notes are
the side channel; the collector writes them to its status file. Where an event
itself must "say so" (a timestamp fallback) its id carries a marker as well.

The choices (why each is safe for reconciliation) are in tools/README-python.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "Converted",
    "ConversionError",
    "DECIMAL_PLACES",
    "SIGNIFICANT_DIGITS",
    "TICK_SIZE",
    "MAX_FRACTION_DIGITS",
    "decimal_text",
    "to_decimal",
    "market_text",
    "is_funding_trade",
    "snapshot_event",
    "fills_event",
    "bounded_id",
]

# ccxt's ``exchange.precisionMode`` constants.
DECIMAL_PLACES = 2
SIGNIFICANT_DIGITS = 3
TICK_SIZE = 4

#: Recon holds at most 18 fractional digits exactly (ExactDecimal.maxInputScale);
#: a float whose shortest text has more is rounded half-even to 18, with a note.
MAX_FRACTION_DIGITS = 18
#: Recon's limit on ids, names and symbols.
MAX_ID_LENGTH = 128
#: A value within this fraction of a tick (or of its own size) from the grid is
#: float noise around a grid value and is snapped; farther away it is off-grid.
GRID_TOLERANCE = Decimal("1e-9")
#: How far (ms) a data timestamp may lie after its own fetch before it is judged
#: not to be the data's time (the venue's and the collector's clocks differ a bit).
DEFAULT_FUTURE_TOLERANCE_MS = 5_000


class ConversionError(ValueError):
    """A value that cannot become an exact Recon decimal (NaN, Infinity, a bool, junk)."""


class Converted(NamedTuple):
    """What a conversion produced: the events to post and the notes about them."""

    events: List[Dict[str, Any]]
    notes: List[Dict[str, Any]]


# ---------------------------------------------------------------------------
# Numbers


def to_decimal(value: Any) -> Decimal:
    """The exact decimal a ccxt number stands for.

    A float becomes the shortest text that reads back as the same float
    (``repr``), so ``0.1`` is one tenth, not 0.1000000000000000055511151231257827.
    Strings and ints are parsed exactly. Bools, NaN and Infinity are rejected.
    """
    if isinstance(value, bool):
        raise ConversionError(f"expected a number, got a bool ({value!r})")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ConversionError(f"{value!r} is not a finite number")
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ConversionError(f"not a decimal number: {value!r}") from None
    else:
        raise ConversionError(f"expected a number, got {type(value).__name__} ({value!r})")
    if not d.is_finite():
        raise ConversionError(f"{value!r} is not a finite number")
    return d


def decimal_text(value: Any) -> str:
    """Recon's canonical text for a number: plain notation, no exponent, no
    trailing fractional zeros, no ``-0`` (``3.36e-7`` -> ``"0.000000336"``)."""
    d = to_decimal(value)
    if d == 0:
        return "0"
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _fraction_digits(d: Decimal) -> int:
    s = decimal_text(d)
    return len(s.split(".", 1)[1]) if "." in s else 0


def _limit_scale(d: Decimal, notes: Optional[List[Dict[str, Any]]], where: Mapping[str, Any]) -> Decimal:
    """Rounds to Recon's 18 fractional digits when a float's text carries more."""
    if _fraction_digits(d) <= MAX_FRACTION_DIGITS:
        return d
    with localcontext() as ctx:
        ctx.prec = 80
        rounded = d.quantize(Decimal(1).scaleb(-MAX_FRACTION_DIGITS), rounding=ROUND_HALF_EVEN)
    if notes is not None:
        notes.append(dict(where, kind="rounded_to_limit",
                          message=f"{decimal_text(d)} has more than {MAX_FRACTION_DIGITS} fractional digits; "
                                  f"rounded half-even to {decimal_text(rounded)}"))
    return rounded


def _tick(precision: Any, precision_mode: Optional[int]) -> Optional[Decimal]:
    """The grid step a ccxt precision value describes, or None if unknown.

    ccxt gives either a number of decimal places (``3``, DECIMAL_PLACES mode) or a
    tick size (``0.001``, TICK_SIZE mode, the default of current ccxt). With the
    exchange's ``precisionMode`` we follow it; without it an ``int`` is a number of
    decimal places and anything else (float, numeric string) is a tick size.
    """
    if precision is None or isinstance(precision, bool):
        return None
    try:
        p = to_decimal(precision)
    except ConversionError:
        return None
    if precision_mode == DECIMAL_PLACES or (precision_mode is None and isinstance(precision, int)):
        if p != p.to_integral_value() or p < 0 or p > 30:
            return None
        return Decimal(1).scaleb(-int(p))
    if p <= 0:
        return None
    return p


def _snap(d: Decimal, precision: Any, precision_mode: Optional[int]) -> Optional[Decimal]:
    """``d`` moved onto the market's grid when it is float noise around a grid
    value; None when the precision is unknown or ``d`` is genuinely off the grid."""
    if precision is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 80
        if precision_mode == SIGNIFICANT_DIGITS:
            try:
                digits = int(to_decimal(precision))
            except (ConversionError, ValueError):
                return None
            if digits <= 0:
                return None
            if d == 0:
                return d
            quantum = Decimal(1).scaleb(d.adjusted() - digits + 1)
            snapped = d.quantize(quantum, rounding=ROUND_HALF_EVEN)
            tolerance = abs(d) * GRID_TOLERANCE
        else:
            tick = _tick(precision, precision_mode)
            if tick is None:
                return None
            snapped = (d / tick).to_integral_value(rounding=ROUND_HALF_EVEN) * tick
            tolerance = max(abs(d), tick) * GRID_TOLERANCE
        if abs(snapped - d) <= tolerance:
            return snapped
    return None


def market_text(value: Any, market: Optional[Mapping[str, Any]], which: str,
                precision_mode: Optional[int] = None,
                notes: Optional[List[Dict[str, Any]]] = None,
                where: Optional[Mapping[str, Any]] = None) -> str:
    """A venue number as Recon text, using ``market['precision'][which]``.

    ``which`` is ``"amount"`` or ``"price"``. When the market's precision is known
    and the float is noise around a grid value (``0.30000000000000004`` with tick
    ``0.01``) the grid value is written (``"0.3"``). When the precision is unknown
    the shortest round-trip text of the float is written. A value that is off the
    grid by more than float noise is written as is (never rounded away) and an
    ``off_grid`` note is added.
    """
    d = to_decimal(value)
    where = dict(where or {})
    precision = None
    if market:
        precision = (market.get("precision") or {}).get(which)
    snapped = _snap(d, precision, precision_mode) if precision is not None else None
    if snapped is not None:
        return decimal_text(_limit_scale(snapped, notes, where))
    if precision is not None and notes is not None:
        notes.append(dict(where, kind="off_grid", field=which,
                          message=f"{decimal_text(d)} is not on the market's {which} grid "
                                  f"(precision {precision!r}); kept as reported"))
    return decimal_text(_limit_scale(d, notes, where))


def _plain(value: Any, notes: Optional[List[Dict[str, Any]]] = None,
           where: Optional[Mapping[str, Any]] = None) -> str:
    """Shortest round-trip text, plain, within Recon's scale limit."""
    return decimal_text(_limit_scale(to_decimal(value), notes, dict(where or {})))


# ---------------------------------------------------------------------------
# Ids


def _content_hash(obj: Any, length: int = 16) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def bounded_id(*parts: Any) -> str:
    """``part:part:...`` kept within Recon's 128 characters.

    When the readable form is too long, the leading parts (account, venue) are
    replaced by a hash of the whole so the id stays deterministic and unique.
    """
    text = ":".join(str(p) for p in parts)
    if len(text) <= MAX_ID_LENGTH:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    tail = ":".join(str(p) for p in parts[-2:])
    candidate = f"{parts[0]}:h{digest}:{tail}"
    return candidate if len(candidate) <= MAX_ID_LENGTH else f"h{digest}"


# ---------------------------------------------------------------------------
# Time


def _as_int_ms(value: Any) -> Optional[int]:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _data_time(value: Any, fetched_at_ms: int, response_time_ms: Optional[int],
               future_tolerance_ms: int) -> Tuple[int, Optional[str]]:
    """The data's own exchange time, or the fetch time and the reason for falling back.

    A timestamp is not the data's when it is missing or not an integer, not
    positive, equal to the response's own time (``response_time_ms``, when the
    caller knows it: ccxt stamps some structures with the response time), or later
    than the fetch that returned it by more than the clock tolerance (data cannot
    be reported before it happened; such a value is the response's time or junk).
    """
    ts = _as_int_ms(value)
    if ts is None:
        return fetched_at_ms, "missing" if value is None else f"not an integer timestamp ({value!r})"
    if ts <= 0:
        return fetched_at_ms, f"not a positive timestamp ({ts})"
    if response_time_ms is not None and ts == response_time_ms:
        return fetched_at_ms, "equals the response time, not the data's time"
    if ts > fetched_at_ms + future_tolerance_ms:
        return fetched_at_ms, f"{ts} is after the fetch at {fetched_at_ms}: the response time, not the data's"
    return ts, None


# ---------------------------------------------------------------------------
# Markets


def _market(markets: Optional[Mapping[str, Any]], symbol: Optional[str]) -> Optional[Mapping[str, Any]]:
    if not markets or not symbol:
        return None
    m = markets.get(symbol)
    return m if isinstance(m, Mapping) else None


def _symbol_parts(symbol: str) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(base, quote, settle) from a ccxt unified symbol ``BASE/QUOTE[:SETTLE][-...]``."""
    if not symbol or "/" not in symbol:
        return None, None, None
    base, rest = symbol.split("/", 1)
    settle = None
    if ":" in rest:
        quote, settle = rest.split(":", 1)
        settle = settle.split("-", 1)[0]
    else:
        quote = rest
    return base or None, quote or None, settle or None


def _is_inverse(symbol: str, market: Optional[Mapping[str, Any]], item: Optional[Mapping[str, Any]] = None) -> bool:
    """Inverse contracts: settled in the base asset (``BTC/USD:BTC``)."""
    if market is not None and market.get("inverse") is True:
        return True
    if market is not None and market.get("inverse") is False:
        return False
    base, _, settle = _symbol_parts(symbol)
    if item is not None and item.get("settle") and base:
        settle = item.get("settle")
    return bool(base and settle and base == settle)


# ---------------------------------------------------------------------------
# Snapshot


def _scope_filter(symbols: Optional[Sequence[str]]):
    scope = set(symbols) if symbols else None
    return (lambda s: True) if scope is None else (lambda s: s in scope)


def snapshot_event(account: str, venue: str, *, fetched_at_ms: int,
                   positions: Optional[Iterable[Mapping[str, Any]]] = None,
                   open_orders: Optional[Iterable[Mapping[str, Any]]] = None,
                   balance: Optional[Mapping[str, Any]] = None,
                   markets: Optional[Mapping[str, Any]] = None,
                   symbols: Optional[Sequence[str]] = None,
                   valid_at_ms: Any = None,
                   response_time_ms: Optional[int] = None,
                   precision_mode: Optional[int] = None,
                   equity: Any = None,
                   include_zero_balances: bool = True,
                   future_tolerance_ms: int = DEFAULT_FUTURE_TOLERANCE_MS) -> Converted:
    """One ``exchange_snapshot`` from ccxt's positions, open orders and balance.

    A section passed as None is left out of the event (unknown, never "empty");
    a section passed as a list (even empty) is complete for its scope, which is
    ``symbols`` when given (items outside it are dropped with a note), else all.

    ``ts_ms`` is the exchange time the state is valid at: ``valid_at_ms`` when the
    caller knows it and it is usable, else the collector's ``fetched_at_ms`` (a
    ccxt listing carries no "valid at" time of its own: position and balance
    timestamps are when each item last changed). The id then ends in ``:f`` and a
    ``ts_fallback`` note records why.
    """
    notes: List[Dict[str, Any]] = []
    in_scope = _scope_filter(symbols)
    scope: Optional[List[str]] = list(symbols) if symbols else None
    body: Dict[str, Any] = {}

    # -- positions ---------------------------------------------------------
    prices: Dict[str, str] = {}
    if positions is not None:
        converted: List[Dict[str, Any]] = []
        unconvertible: Dict[str, str] = {}
        seen: Dict[str, int] = {}
        for p in positions:
            symbol = p.get("symbol")
            if not symbol:
                notes.append({"kind": "position_skipped", "message": "position without a symbol", "info": _short(p)})
                continue
            if not in_scope(symbol):
                notes.append({"kind": "out_of_scope", "symbol": symbol,
                              "message": f"position in {symbol} is outside the snapshot's symbols; dropped"})
                continue
            market = _market(markets, symbol)
            mark = p.get("markPrice")
            if mark is not None:
                try:
                    if to_decimal(mark) > 0:
                        prices[symbol] = market_text(mark, market, "price", precision_mode)
                except ConversionError:
                    notes.append({"kind": "price_skipped", "symbol": symbol, "message": f"mark price {mark!r} unusable"})
            contracts_raw = p.get("contracts")
            try:
                contracts = to_decimal(contracts_raw) if contracts_raw is not None else Decimal(0)
            except ConversionError as e:
                unconvertible[symbol] = f"contracts: {e}"
                continue
            if contracts == 0:
                continue  # flat: absent from a complete list means flat
            if _is_inverse(symbol, market, p):
                unconvertible[symbol] = "inverse contract (settled in the base asset) is not supported"
                continue
            side = p.get("side")
            if side not in ("long", "short"):
                unconvertible[symbol] = f"side is {side!r} with {decimal_text(contracts)} contracts: direction unknown"
                continue
            if contracts < 0:
                # ccxt's contracts is unsigned; a signed one contradicts side unless it agrees with it.
                if side == "long":
                    unconvertible[symbol] = f"negative contracts ({decimal_text(contracts)}) on a long position"
                    continue
                contracts = -contracts
            size_raw = p.get("contractSize")
            if size_raw is None and market is not None:
                size_raw = market.get("contractSize")
            if size_raw is None:
                if market is not None and market.get("spot"):
                    size_raw = 1
                else:
                    unconvertible[symbol] = "contract size unknown (neither the position nor the market gives it)"
                    continue
            entry = p.get("entryPrice")
            if entry is None:
                unconvertible[symbol] = "entry price unknown"
                continue
            seen[symbol] = seen.get(symbol, 0) + 1
            if seen[symbol] > 1:
                unconvertible[symbol] = "more than one open position (hedge mode) cannot be one signed quantity"
                continue
            where = {"symbol": symbol}
            contracts_text = market_text(contracts, market, "amount", precision_mode, notes, where)
            qty = to_decimal(contracts_text) * to_decimal(_plain(size_raw))
            if side == "short":
                qty = -qty
            converted.append({"symbol": symbol, "qty": decimal_text(_limit_scale(qty, notes, where)),
                              "entry_price": _plain(entry, notes, where)})
        if unconvertible:
            bad = sorted(unconvertible)
            for s in bad:
                kind = "inverse_unsupported" if "inverse" in unconvertible[s] else "position_unconvertible"
                notes.append({"kind": kind, "symbol": s, "message": f"{s}: {unconvertible[s]}"})
            if scope is not None:
                # Narrow the listing so that it never claims to cover what it cannot show.
                scope = [s for s in scope if s not in unconvertible]
                converted = [c for c in converted if c["symbol"] not in unconvertible]
                notes.append({"kind": "scope_narrowed", "symbols": bad,
                              "message": "left out of the snapshot's symbols (positions and orders): " + ", ".join(bad)})
                if not scope:
                    notes.append({"kind": "positions_omitted", "symbols": bad,
                                  "message": "no symbol left in scope; positions and open orders omitted (unknown)"})
                    converted = None  # type: ignore[assignment]
            else:
                notes.append({"kind": "positions_omitted", "symbols": bad,
                              "message": "positions omitted (unknown) because these could not be converted: " + ", ".join(bad)})
                converted = None  # type: ignore[assignment]
        if converted is not None:
            body["positions"] = sorted(converted, key=lambda c: c["symbol"])

    # -- open orders -------------------------------------------------------
    narrowed_out = set(symbols or ()) - set(scope or ()) if symbols else set()
    if open_orders is not None and not (symbols and not scope):
        orders: List[Dict[str, Any]] = []
        for o in open_orders:
            symbol = o.get("symbol")
            oid = o.get("id")
            if not symbol or oid is None:
                notes.append({"kind": "order_skipped", "order_id": oid, "symbol": symbol,
                              "message": "open order without id or symbol"})
                continue
            if not in_scope(symbol) or symbol in narrowed_out:
                if not in_scope(symbol):
                    notes.append({"kind": "out_of_scope", "symbol": symbol, "order_id": str(oid),
                                  "message": f"order {oid} in {symbol} is outside the snapshot's symbols; dropped"})
                continue
            market = _market(markets, symbol)
            where = {"symbol": symbol, "order_id": str(oid)}
            side = o.get("side")
            amount = o.get("amount")
            if side not in ("buy", "sell") or amount is None:
                notes.append(dict(where, kind="order_skipped", message=f"order {oid}: side {side!r} / amount {amount!r} unusable"))
                continue
            try:
                qty = market_text(amount, market, "amount", precision_mode, notes, where)
                remaining_raw = o.get("remaining")
                if remaining_raw is None and o.get("filled") is not None:
                    remaining_raw = to_decimal(amount) - to_decimal(o.get("filled"))
                if remaining_raw is None:
                    remaining_raw = amount
                    notes.append(dict(where, kind="remaining_assumed",
                                      message=f"order {oid}: remaining and filled unknown; remaining = amount"))
                remaining = market_text(remaining_raw, market, "amount", precision_mode, notes, where)
                price_raw = o.get("price")
                price = None
                if price_raw is not None and to_decimal(price_raw) > 0:
                    price = market_text(price_raw, market, "price", precision_mode, notes, where)
            except ConversionError as e:
                notes.append(dict(where, kind="order_skipped", message=f"order {oid}: {e}"))
                continue
            if to_decimal(qty) <= 0:
                notes.append(dict(where, kind="order_skipped", message=f"order {oid}: amount {qty} is not positive"))
                continue
            if to_decimal(remaining) < 0:
                remaining = "0"
            entry = {"order_id": str(oid), "symbol": symbol, "side": side, "qty": qty, "remaining": remaining}
            if price is not None:
                entry["price"] = price
            orders.append(entry)
        body["open_orders"] = sorted(orders, key=lambda e: (e["symbol"], e["order_id"]))

    # -- balances ----------------------------------------------------------
    if balance is not None:
        totals = balance.get("total")
        if isinstance(totals, Mapping):
            rows = []
            for asset in sorted(totals):
                value = totals[asset]
                if value is None:
                    continue
                try:
                    text = _plain(value, notes, {"asset": asset})
                except ConversionError as e:
                    notes.append({"kind": "balance_skipped", "asset": asset, "message": f"{asset}: {e}"})
                    continue
                if text == "0" and not include_zero_balances:
                    continue
                rows.append({"asset": asset, "total": text})
            body["balances"] = rows
        else:
            notes.append({"kind": "balances_omitted", "message": "balance has no 'total' map; balances omitted (unknown)"})

    if equity is not None:
        body["equity"] = _plain(equity, notes, {"field": "equity"})
    if prices:
        body["prices"] = [{"symbol": s, "mark": prices[s]} for s in sorted(prices)]
    if scope is not None and ("positions" in body or "open_orders" in body):
        body["symbols"] = list(scope)

    if not body:
        notes.append({"kind": "empty_snapshot", "message": "nothing to report: no section was given or usable"})
        return Converted([], notes)

    # -- time and id -------------------------------------------------------
    fallback = False
    if valid_at_ms is not None:
        ts, reason = _data_time(valid_at_ms, fetched_at_ms, response_time_ms, future_tolerance_ms)
        if reason:
            fallback = True
            notes.append({"kind": "ts_fallback", "event": "exchange_snapshot",
                          "message": f"snapshot time {reason}; using the fetch time {fetched_at_ms}"})
    else:
        ts = int(fetched_at_ms)
        fallback = True
        notes.append({"kind": "ts_fallback", "event": "exchange_snapshot",
                      "message": f"the venue gives no time the listing is valid at; using the fetch time {fetched_at_ms}"})

    event: Dict[str, Any] = {"type": "exchange_snapshot", "account": account, "venue": venue, "ts_ms": ts}
    event.update(body)
    marker = "f" if fallback else "v"
    event = {"id": bounded_id(account, venue, "snap", ts, marker, _content_hash(event)), **event}
    return Converted([event], notes)


# ---------------------------------------------------------------------------
# Fills

_FUNDING_WORDS = ("funding", "settlement_funding", "fundingfee", "funding_fee")
_FUNDING_INFO_KEYS = ("execType", "exec_type", "type", "tradeType", "trade_type", "category", "bizType",
                      "incomeType", "income_type", "transactionType", "txType", "typ")


def is_funding_trade(trade: Mapping[str, Any]) -> bool:
    """True when a venue lists a funding payment among the trades.

    ccxt's unified ``type`` says so on some venues (``"funding"``); others only mark
    it in the raw ``info`` (Bybit ``execType: "Funding"``, BitMEX
    ``execType: "Funding"``, income-style ``incomeType: "FUNDING_FEE"``).
    """
    t = trade.get("type")
    if isinstance(t, str) and t.lower() in _FUNDING_WORDS:
        return True
    info = trade.get("info")
    if isinstance(info, Mapping):
        for key in _FUNDING_INFO_KEYS:
            v = info.get(key)
            if isinstance(v, str) and v.replace(" ", "_").lower() in _FUNDING_WORDS:
                return True
    return False


def _fee_of(trade: Mapping[str, Any], notes: List[Dict[str, Any]], where: Mapping[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """(fee, fee_asset) as Recon text; fee None means unknown, never zero.

    Sign: ccxt's ``fee.cost`` > 0 is a charge and < 0 a rebate, Recon's sign too.
    Several ``fees`` in one currency are summed; in several currencies the fee
    cannot be one number and is reported unknown.
    """
    fee = trade.get("fee")
    fees = trade.get("fees")
    entries: List[Mapping[str, Any]] = []
    if isinstance(fees, list) and fees:
        entries = [f for f in fees if isinstance(f, Mapping)]
    elif isinstance(fee, Mapping):
        entries = [fee]
    if not entries:
        notes.append(dict(where, kind="fee_unknown", message="the venue reported no fee; fee left unknown (null), not zero"))
        return None, None
    currencies = {e.get("currency") for e in entries if e.get("cost") is not None}
    if any(e.get("cost") is None for e in entries):
        asset = next((e.get("currency") for e in entries if e.get("currency")), None)
        notes.append(dict(where, kind="fee_unknown", message="fee cost is null; fee left unknown (null), not zero"))
        return None, asset
    if len(currencies) != 1 or None in currencies:
        notes.append(dict(where, kind="fee_unknown",
                          message=f"fees in {sorted(map(str, currencies))} cannot be one fee; fee left unknown"))
        return None, None
    total = sum((to_decimal(e.get("cost")) for e in entries), Decimal(0))
    return _plain(total, notes, where), currencies.pop()


def fills_event(account: str, venue: str, trades: Iterable[Mapping[str, Any]], from_ms: int, to_ms: int,
                markets: Optional[Mapping[str, Any]] = None, fetched_at_ms: Optional[int] = None, *,
                response_time_ms: Optional[int] = None,
                precision_mode: Optional[int] = None,
                future_tolerance_ms: int = DEFAULT_FUTURE_TOLERANCE_MS) -> Converted:
    """One ``exchange_fills`` window ``[from_ms, to_ms]`` plus funding transfers.

    * A trade whose time is unusable gets the fetch time (``ts_fallback`` note, the
      window id ends in ``:f``) and stays in the window: the venue answered it to
      this window's query.
    * A trade with a usable time outside the window is left to the window that
      covers it (``outside_window`` note).
    * Funding payments become ``transfer`` events (kind ``funding``, amount =
      ``-fee.cost``: a paid funding is money out), never fills.
    * Inverse-contract trades and trades missing an id, order id, side, amount,
      price or maker/taker are not invented: they are left out with a
      ``trade_skipped`` / ``inverse_unsupported`` note.
    * A null fee or fee cost is written ``"fee": null`` (unknown; Recon accepts that
      on venue records), never ``"0"``.
    """
    if fetched_at_ms is None:
        fetched_at_ms = to_ms
    if to_ms < from_ms:
        raise ValueError(f"window ends ({to_ms}) before it starts ({from_ms})")
    notes: List[Dict[str, Any]] = []
    fills: List[Dict[str, Any]] = []
    transfers: List[Dict[str, Any]] = []
    any_fallback = False
    seen_ids: Dict[str, Dict[str, Any]] = {}

    for t in trades:
        tid = t.get("id")
        symbol = t.get("symbol")
        where: Dict[str, Any] = {"trade_id": None if tid is None else str(tid), "symbol": symbol}
        ts, reason = _data_time(t.get("timestamp"), fetched_at_ms, response_time_ms, future_tolerance_ms)
        if reason is None and not (from_ms <= ts <= to_ms):
            notes.append(dict(where, kind="outside_window", ts_ms=ts,
                              message=f"trade at {ts} is outside the window [{from_ms}, {to_ms}]; left to its own window"))
            continue
        if reason is not None:
            any_fallback = True
            notes.append(dict(where, kind="ts_fallback", message=f"trade timestamp {reason}; using the fetch time {fetched_at_ms}"))
        market = _market(markets, symbol)

        if is_funding_trade(t):
            transfer = _funding_transfer(account, venue, t, ts, market, notes, where)
            if transfer is not None:
                transfers.append(transfer)
            continue

        if symbol and _is_inverse(symbol, market, t):
            notes.append(dict(where, kind="inverse_unsupported",
                              message=f"{symbol} is an inverse contract (settled in the base asset); trade not converted"))
            continue
        missing = [name for name, value in (("id", tid), ("symbol", symbol), ("order", t.get("order")),
                                            ("side", t.get("side")), ("amount", t.get("amount")),
                                            ("price", t.get("price")), ("takerOrMaker", t.get("takerOrMaker")))
                   if value is None or value == ""]
        if missing:
            notes.append(dict(where, kind="trade_skipped", message=f"trade lacks {', '.join(missing)}; not converted (nothing invented)"))
            continue
        if t.get("side") not in ("buy", "sell") or t.get("takerOrMaker") not in ("maker", "taker"):
            notes.append(dict(where, kind="trade_skipped",
                              message=f"side {t.get('side')!r} / takerOrMaker {t.get('takerOrMaker')!r} not understood"))
            continue
        try:
            qty = market_text(t["amount"], market, "amount", precision_mode, notes, where)
            price = market_text(t["price"], market, "price", precision_mode, notes, where)
            fee, fee_asset = _fee_of(t, notes, where)
        except ConversionError as e:
            notes.append(dict(where, kind="trade_skipped", message=str(e)))
            continue
        if to_decimal(qty) <= 0:
            notes.append(dict(where, kind="trade_skipped", message=f"amount {qty} is not positive"))
            continue
        fill = {"fill_id": str(tid), "order_id": str(t["order"]), "symbol": symbol, "side": t["side"],
                "qty": qty, "price": price, "fee": fee, "fee_asset": fee_asset,
                "liquidity": t["takerOrMaker"], "ts_ms": ts}
        if str(tid) in seen_ids:
            if seen_ids[str(tid)] != fill:
                notes.append(dict(where, kind="trade_conflict", message=f"trade {tid} listed twice with different content; both kept"))
            else:
                continue  # pagination overlap: the same record twice
        seen_ids[str(tid)] = fill
        fills.append(fill)

    fills.sort(key=lambda f: (f["ts_ms"], f["fill_id"]))
    event: Dict[str, Any] = {"type": "exchange_fills", "account": account, "venue": venue, "ts_ms": int(to_ms),
                             "from_ms": int(from_ms), "to_ms": int(to_ms), "fills": fills}
    marker = "f" if any_fallback else "v"
    event = {"id": bounded_id(account, venue, "fills", f"{from_ms}-{to_ms}", marker, _content_hash(event)), **event}
    return Converted([event] + transfers, notes)


def _funding_transfer(account: str, venue: str, t: Mapping[str, Any], ts: int,
                      market: Optional[Mapping[str, Any]], notes: List[Dict[str, Any]],
                      where: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    fee = t.get("fee") if isinstance(t.get("fee"), Mapping) else {}
    cost = fee.get("cost")
    if cost is None:
        notes.append(dict(where, kind="funding_skipped", message="funding payment without an amount (fee.cost); not converted"))
        return None
    symbol = t.get("symbol") or ""
    asset = fee.get("currency")
    if not asset and market is not None:
        asset = market.get("settle") or market.get("quote")
    if not asset:
        _, quote, settle = _symbol_parts(symbol)
        asset = settle or quote
    if not asset:
        notes.append(dict(where, kind="funding_skipped", message="funding payment in an unknown asset; not converted"))
        return None
    amount = _plain(-to_decimal(cost), notes, where)
    key = t.get("id") if t.get("id") not in (None, "") else f"{symbol}@{ts}"
    body = {"type": "transfer", "account": account, "venue": venue, "ts_ms": ts,
            "asset": asset, "amount": amount, "kind": "funding"}
    notes.append(dict(where, kind="funding", message=f"funding payment {amount} {asset} converted to a transfer, not a fill"))
    return {"id": bounded_id(account, venue, "funding", key, _content_hash(body, 8)), **body}


def _short(obj: Any, limit: int = 200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."
