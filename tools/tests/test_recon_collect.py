"""The collector polls a venue per account and posts to a running `recon serve`.

The venue is a small in-memory stand-in with ccxt's method names and unified
structures (no network); Recon is the real server."""

from __future__ import annotations

import json

import pytest

import recon_collect as rcol
from conftest import TOKEN
from recon_client import ReconClient

NOW = 1_763_000_200_000


class Venue:
    """Answers like a ccxt exchange for one account."""

    precisionMode = 4  # TICK_SIZE
    has = {"fetchPositions": True, "fetchOpenOrders": True, "fetchBalance": True, "fetchMyTrades": True}

    def __init__(self):
        self.calls = []
        self.trades = [{"id": "t1", "order": "o1", "symbol": "BTC/USDT:USDT", "side": "buy", "amount": 2.0,
                        "price": 50000.1, "takerOrMaker": "maker", "timestamp": NOW - 10_000,
                        "fee": {"cost": -0.01, "currency": "USDT"}}]

    def load_markets(self):
        return {"BTC/USDT:USDT": {"contractSize": 0.001, "inverse": False, "precision": {"amount": 1, "price": 0.1}}}

    def fetch_positions(self, symbols=None):
        self.calls.append(("fetch_positions", symbols))
        return [{"symbol": "BTC/USDT:USDT", "contracts": 2.0, "side": "long", "entryPrice": 50000.1}]

    def fetch_open_orders(self, symbol=None):
        self.calls.append(("fetch_open_orders", symbol))
        return []

    def fetch_balance(self):
        return {"total": {"USDT": 999.99}}

    def fetch_my_trades(self, symbol=None, since=None):
        self.calls.append(("fetch_my_trades", symbol, since))
        return [t for t in self.trades if since is None or t["timestamp"] >= since]


class BrokenVenue(Venue):
    def fetch_balance(self):
        raise ConnectionError("venue down")


def accounts():
    return [
        rcol.AccountSpec("bot1", {"exchange": "binanceusdm", "credentials": "BOT1", "mode": "live", "symbols": ["BTC/USDT:USDT"]}),
        rcol.AccountSpec("bot2", {"exchange": "bybit", "credentials": "BOT2", "mode": "paper"}),
        rcol.AccountSpec("old", {"exchange": "okx", "credentials": "OLD", "mode": "disabled"}),
        rcol.AccountSpec("nokeys", {"exchange": "okx", "credentials": "NOKEYS", "mode": "live"}),
    ]


def test_account_map_is_validated(tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps({"accounts": {"a": {"exchange": "x", "credentials": "A", "mode": "sometimes"}}}))
    with pytest.raises(ValueError, match="mode"):
        rcol.load_accounts(str(path))
    path.write_text(json.dumps({"accounts": {"a": {"exchange": "x", "credentials": "A", "apiKey": "leak"}}}))
    with pytest.raises(ValueError, match="unknown keys"):
        rcol.load_accounts(str(path))


def test_a_round_posts_snapshots_and_fills_and_writes_every_probe(server, tmp_path):
    venues = {"bot1": Venue(), "bot2": BrokenVenue()}
    made = []

    def make(spec, creds):
        made.append((spec.name, spec.mode, creds["apiKey"]))
        return venues[spec.name]

    env = {"BOT1_API_KEY": "k1", "BOT1_SECRET": "s1", "BOT2_API_KEY": "k2", "BOT2_SECRET": "s2"}
    clock = iter(range(NOW, NOW + 1_000_000, 1_000))
    status_file = tmp_path / "status.json"
    with ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        collector = rcol.Collector(accounts(), client, str(status_file), env=env, make_exchange=make,
                                   clock=lambda: next(clock))
        status = collector.poll_once()
        assert status["bot1"]["status"] == "ok"
        assert status["bot2"]["status"] == "error" and "venue down" in status["bot2"]["error"]
        assert status["old"]["status"] == "disabled"
        assert status["nokeys"]["status"] == "no_credentials"
        assert ("bot2", "paper", "k2") in made and all(name not in ("old", "nokeys") for name, _, _ in made)

        # The next round asks only for trades after the first window.
        collector.poll_once()
        sinces = [c[2] for c in venues["bot1"].calls if c[0] == "fetch_my_trades"]
        assert len(sinces) == 2 and sinces[1] > sinces[0]

    written = json.loads(status_file.read_text())
    assert set(written["accounts"]) == {"bot1", "bot2", "old", "nokeys"}
    stored = server.events()
    types = [e["type"] for e in stored if e["account"] == "bot1"]
    assert types.count("exchange_snapshot") == 2 and types.count("exchange_fills") == 2
    snap = next(e for e in stored if e["type"] == "exchange_snapshot")
    assert snap["positions"] == [{"symbol": "BTC/USDT:USDT", "qty": "0.002", "entry_price": "50000.1"}]
    assert snap["symbols"] == ["BTC/USDT:USDT"]
    fills = next(e for e in stored if e["type"] == "exchange_fills")
    assert fills["fills"][0]["fee"] == "-0.01"
    # Windows tile time: the second starts right after the first.
    windows = [(e["from_ms"], e["to_ms"]) for e in stored if e["type"] == "exchange_fills"]
    assert windows[1][0] == windows[0][1] + 1


def test_the_module_loads_and_reports_without_ccxt(monkeypatch, tmp_path):
    import subprocess
    import sys
    from conftest import ROOT
    # Importing the collector must not need ccxt (sys.modules[...] = None blocks an import).
    code = "import sys; sys.modules['ccxt'] = None; sys.path.insert(0, %r); import recon_collect" % str(ROOT / "tools")
    subprocess.run([sys.executable, "-c", code], check=True)
    # Polling a live account without ccxt says so in the status instead of crashing.
    monkeypatch.setitem(sys.modules, "ccxt", None)
    spec = rcol.AccountSpec("x", {"exchange": "binance", "credentials": "X"})
    collector = rcol.Collector([spec], client=None, status_file=str(tmp_path / "s.json"),
                               env={"X_API_KEY": "k", "X_SECRET": "s"})
    assert collector.poll_once()["x"]["status"] == "ccxt_missing"
