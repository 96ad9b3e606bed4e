"""CONTRACT §10: ccxt's unified structures to Recon remote events, each rule tested,
and the results accepted by a running `recon serve`."""

from __future__ import annotations

import json
import urllib.request

import recon_ccxt as cx
from conftest import TOKEN

FETCH = 1_763_000_100_000
MARKETS = {
    "BTC/USDT:USDT": {"symbol": "BTC/USDT:USDT", "contractSize": 0.001, "linear": True, "inverse": False,
                      "precision": {"amount": 1, "price": 0.1}, "settle": "USDT", "quote": "USDT"},
    "ETH/USDT": {"symbol": "ETH/USDT", "spot": True, "precision": {"amount": 0.0001, "price": 0.01}, "quote": "USDT"},
    "BTC/USD:BTC": {"symbol": "BTC/USD:BTC", "inverse": True, "contractSize": 100},
}


def trade(**kw):
    t = {"id": "t1", "order": "o1", "symbol": "ETH/USDT", "side": "buy", "amount": 0.4000000000000001,
         "price": 3000.1, "takerOrMaker": "maker", "timestamp": FETCH - 5_000,
         "fee": {"cost": 0.012, "currency": "USDT"}}
    t.update(kw)
    return t


def test_floats_become_exact_plain_text():
    assert cx.decimal_text(3.36e-7) == "0.000000336"
    assert cx.decimal_text(0.4000000000000001) == "0.4000000000000001"  # no market: shortest round trip
    assert cx.market_text(0.4000000000000001, MARKETS["ETH/USDT"], "amount", cx.TICK_SIZE) == "0.4"
    assert cx.market_text(0.30000000000000004, {"precision": {"price": 0.01}}, "price", cx.TICK_SIZE) == "0.3"
    assert "e" not in cx.decimal_text(1e-12).lower()


def test_fee_sign_unknown_fee_and_base_asset_fee():
    charge = cx.fills_event("a", "v", [trade()], FETCH - 60_000, FETCH, MARKETS, FETCH).events[0]["fills"][0]
    assert charge["fee"] == "0.012" and charge["fee_asset"] == "USDT"
    rebate = cx.fills_event("a", "v", [trade(fee={"cost": -0.003, "currency": "USDT"})], FETCH - 60_000, FETCH, MARKETS, FETCH)
    assert rebate.events[0]["fills"][0]["fee"] == "-0.003"
    unknown = cx.fills_event("a", "v", [trade(fee=None)], FETCH - 60_000, FETCH, MARKETS, FETCH)
    assert unknown.events[0]["fills"][0]["fee"] is None
    assert any(n["kind"] == "fee_unknown" for n in unknown.notes)
    null_cost = cx.fills_event("a", "v", [trade(fee={"cost": None, "currency": "USDT"})], FETCH - 60_000, FETCH, MARKETS, FETCH)
    assert null_cost.events[0]["fills"][0]["fee"] is None
    base = cx.fills_event("a", "v", [trade(fee={"cost": 0.0001, "currency": "ETH"})], FETCH - 60_000, FETCH, MARKETS, FETCH)
    assert base.events[0]["fills"][0]["fee_asset"] == "ETH"


def test_positions_are_contracts_times_size_signed_by_side_and_inverse_is_refused():
    positions = [
        {"symbol": "BTC/USDT:USDT", "contracts": 15, "side": "short", "entryPrice": 50000.5, "markPrice": 50100},
    ]
    event = cx.snapshot_event("a", "v", fetched_at_ms=FETCH, positions=positions, markets=MARKETS).events[0]
    assert event["positions"] == [{"symbol": "BTC/USDT:USDT", "qty": "-0.015", "entry_price": "50000.5"}]
    assert event["prices"] == [{"symbol": "BTC/USDT:USDT", "mark": "50100"}]
    inverse = cx.snapshot_event("a", "v", fetched_at_ms=FETCH, markets=MARKETS,
                                positions=positions + [{"symbol": "BTC/USD:BTC", "contracts": 3, "side": "long", "entryPrice": 50000}])
    assert any(n["kind"] == "inverse_unsupported" for n in inverse.notes)
    # An unconvertible position makes the account-wide listing unknown, never wrong.
    assert all("positions" not in e for e in inverse.events)


def test_flat_position_and_absent_sections():
    flat = cx.snapshot_event("a", "v", fetched_at_ms=FETCH, markets=MARKETS,
                             positions=[{"symbol": "BTC/USDT:USDT", "contracts": 0, "side": None}], balance=None)
    assert flat.events[0]["positions"] == []  # complete and flat
    assert "balances" not in flat.events[0] and "open_orders" not in flat.events[0]  # unknown, not empty


def test_missing_or_response_timestamps_fall_back_to_fetch_time_and_say_so():
    converted = cx.fills_event("a", "v", [trade(timestamp=None)], FETCH - 60_000, FETCH, MARKETS, FETCH)
    fill = converted.events[0]["fills"][0]
    assert fill["ts_ms"] == FETCH
    assert converted.events[0]["id"].split(":")[-2] == "f"
    assert any(n["kind"] == "ts_fallback" for n in converted.notes)
    future = cx.fills_event("a", "v", [trade(timestamp=FETCH + 3_600_000)], FETCH - 60_000, FETCH, MARKETS, FETCH)
    assert future.events[0]["fills"][0]["ts_ms"] == FETCH
    snap = cx.snapshot_event("a", "v", fetched_at_ms=FETCH, balance={"total": {"USDT": 10.5}})
    assert snap.events[0]["ts_ms"] == FETCH and any(n["kind"] == "ts_fallback" for n in snap.notes)


def test_funding_listed_among_trades_is_a_transfer_never_a_fill():
    funding = {"id": "fund-1", "symbol": "BTC/USDT:USDT", "type": "funding", "timestamp": FETCH - 1_000,
               "fee": {"cost": 0.25, "currency": "USDT"}, "info": {"execType": "Funding"}}
    converted = cx.fills_event("a", "v", [trade(), funding], FETCH - 60_000, FETCH, MARKETS, FETCH)
    fills_event, transfer = converted.events
    assert [f["fill_id"] for f in fills_event["fills"]] == ["t1"]
    assert transfer["type"] == "transfer" and transfer["kind"] == "funding"
    assert transfer["amount"] == "-0.25" and transfer["asset"] == "USDT"


def test_converted_events_are_accepted_by_recon(server):
    snap = cx.snapshot_event("bot1", "binance", fetched_at_ms=FETCH, markets=MARKETS,
                             positions=[{"symbol": "BTC/USDT:USDT", "contracts": 15, "side": "long", "entryPrice": 50000.5}],
                             open_orders=[{"id": 42, "symbol": "ETH/USDT", "side": "sell", "amount": 0.5, "remaining": 0.25, "price": 3100}],
                             balance={"total": {"USDT": 1000.25, "ETH": 3.36e-7}})
    fills = cx.fills_event("bot1", "binance", [trade(), trade(id="t2", fee=None)], FETCH - 60_000, FETCH, MARKETS, FETCH)
    body = "\n".join(json.dumps(e) for e in snap.events + fills.events).encode()
    req = urllib.request.Request(server.url + "/v1/events", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        reply = json.loads(resp.read())
    assert reply["appended"] == 2
    stored = server.events()
    assert stored[1]["fills"][1]["fee"] is None
