"""Poll venues through ccxt and post what they say to Recon. Runs beside a bot.

    python3 tools/recon_collect.py --accounts accounts.json --recon http://127.0.0.1:7878 \
        --status-file collector-status.json --interval 30

The account map (JSON) names, per Recon account, the ccxt exchange, where its
credentials are, and whether to poll it::

    {"accounts": {
        "bot1": {"exchange": "binanceusdm", "credentials": "BOT1_BINANCE", "mode": "live",
                 "symbols": ["BTC/USDT:USDT"], "options": {"defaultType": "future"}},
        "bot2": {"exchange": "bybit", "credentials": "BOT2_BYBIT", "mode": "paper"},
        "old":  {"exchange": "okx", "credentials": "OLD_OKX", "mode": "disabled"}}}

* ``credentials`` is an environment prefix: ``<PREFIX>_API_KEY``, ``<PREFIX>_SECRET``
  and optionally ``<PREFIX>_PASSWORD`` (never in the file).
* ``mode``: ``live`` polls the venue; ``paper`` polls its testnet (ccxt's sandbox
  mode); ``disabled`` is skipped and says so in the status file.
* ``symbols`` (optional) scopes the snapshot (``symbols`` in the event) and the
  trade queries; without it the listing is account-wide.

Each poll posts one ``exchange_snapshot`` (positions, open orders, balances) and
one ``exchange_fills`` window from the end of the previous window to now (minus
``--settle-ms``, so trades still being booked land in the next window), plus a
``transfer`` for every funding payment listed among the trades
(``recon_ccxt``). Every account's probe result (``ok``, ``error``,
``no_credentials``, ``disabled``, ``ccxt_missing``) with its time, last error and
the converter's notes goes to the status file, rewritten atomically after each
round. ccxt is imported only when a live or paper account is polled, so the
module (and its tests) load without it.

Limits: ``--max-notes`` notes kept per account; ``--lookback-ms`` bounds the
first window after start (older history is not re-fetched).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import recon_ccxt  # noqa: E402
from recon_client import ReconClient, ReconError, now_ms  # noqa: E402

log = logging.getLogger("recon_collect")

MODES = ("live", "paper", "disabled")


class AccountSpec:
    """One entry of the account map, validated."""

    def __init__(self, name: str, raw: Mapping[str, Any]):
        if not isinstance(raw, Mapping):
            raise ValueError(f"accounts.{name}: expected an object")
        unknown = set(raw) - {"exchange", "credentials", "mode", "symbols", "options", "venue"}
        if unknown:
            raise ValueError(f"accounts.{name}: unknown keys {sorted(unknown)}")
        self.name = name
        self.exchange = raw.get("exchange")
        if not isinstance(self.exchange, str) or not self.exchange:
            raise ValueError(f"accounts.{name}.exchange: a ccxt exchange id is required (e.g. \"binanceusdm\")")
        self.credentials = raw.get("credentials")
        if not isinstance(self.credentials, str) or not self.credentials:
            raise ValueError(f"accounts.{name}.credentials: an environment prefix is required (e.g. \"BOT1_BINANCE\")")
        self.mode = raw.get("mode", "live")
        if self.mode not in MODES:
            raise ValueError(f"accounts.{name}.mode: expected one of {', '.join(MODES)}, got {self.mode!r}")
        self.symbols: Optional[List[str]] = raw.get("symbols")
        if self.symbols is not None and (not isinstance(self.symbols, list) or not all(isinstance(s, str) for s in self.symbols)):
            raise ValueError(f"accounts.{name}.symbols: expected a list of ccxt symbols")
        self.options: Dict[str, Any] = dict(raw.get("options") or {})
        self.venue: str = raw.get("venue") or self.exchange

    def credentials_from(self, env: Mapping[str, str]) -> Optional[Dict[str, str]]:
        key = env.get(f"{self.credentials}_API_KEY")
        secret = env.get(f"{self.credentials}_SECRET")
        if not key or not secret:
            return None
        creds = {"apiKey": key, "secret": secret}
        password = env.get(f"{self.credentials}_PASSWORD")
        if password:
            creds["password"] = password
        return creds


def load_accounts(path: str) -> List[AccountSpec]:
    raw = json.loads(Path(path).read_text())
    accounts = raw.get("accounts") if isinstance(raw, Mapping) else None
    if not isinstance(accounts, Mapping) or not accounts:
        raise ValueError(f"{path}: expected {{\"accounts\": {{name: {{...}}}}}}")
    return [AccountSpec(name, spec) for name, spec in accounts.items()]


def ccxt_exchange(spec: AccountSpec, credentials: Mapping[str, str]):
    """A ccxt exchange for `spec` (imported here: ccxt is optional for the module)."""
    import ccxt  # noqa: WPS433 - optional dependency

    cls = getattr(ccxt, spec.exchange, None)
    if cls is None:
        raise ValueError(f"ccxt has no exchange {spec.exchange!r}")
    exchange = cls(dict(credentials, enableRateLimit=True, options=spec.options))
    if spec.mode == "paper":
        exchange.set_sandbox_mode(True)
    return exchange


class Collector:
    """Polls every account of the map once per round and posts the results."""

    def __init__(self, accounts: List[AccountSpec], client: ReconClient, status_file: Optional[str] = None,
                 env: Optional[Mapping[str, str]] = None,
                 make_exchange: Callable[[AccountSpec, Mapping[str, str]], Any] = ccxt_exchange,
                 settle_ms: int = 2_000, lookback_ms: int = 24 * 3600 * 1000, max_notes: int = 50,
                 clock: Callable[[], int] = now_ms):
        self.accounts = accounts
        self.client = client
        self.status_file = status_file
        self.env = os.environ if env is None else env
        self.make_exchange = make_exchange
        self.settle_ms = settle_ms
        self.lookback_ms = lookback_ms
        self.max_notes = max_notes
        self.clock = clock
        self.exchanges: Dict[str, Any] = {}
        self.window_end: Dict[str, int] = {}
        self.status: Dict[str, Dict[str, Any]] = {}

    def poll_once(self) -> Dict[str, Dict[str, Any]]:
        """One round over every account; returns (and writes) the status."""
        for spec in self.accounts:
            self.status[spec.name] = self._poll_account(spec)
        self._write_status()
        return self.status

    def _poll_account(self, spec: AccountSpec) -> Dict[str, Any]:
        status: Dict[str, Any] = {"account": spec.name, "exchange": spec.exchange, "mode": spec.mode,
                                  "probed_at_ms": self.clock()}
        if spec.mode == "disabled":
            return dict(status, status="disabled")
        credentials = spec.credentials_from(self.env)
        if credentials is None:
            return dict(status, status="no_credentials",
                        error=f"set {spec.credentials}_API_KEY and {spec.credentials}_SECRET")
        try:
            exchange = self.exchanges.get(spec.name)
            if exchange is None:
                exchange = self.make_exchange(spec, credentials)
                self.exchanges[spec.name] = exchange
        except ImportError:
            return dict(status, status="ccxt_missing", error="ccxt is not installed (pip install ccxt)")
        except Exception as e:  # a bad exchange id, bad options
            return dict(status, status="error", error=f"{type(e).__name__}: {e}")
        try:
            events, notes = self._collect(spec, exchange)
            for event in events:
                self.client.append(event)
            self.client.flush()
        except ReconError as e:
            return dict(status, status="error", error=f"posting to Recon: {e}")
        except Exception as e:  # the venue failed: report it, try again next round
            log.warning("collector: %s: %s", spec.name, e)
            return dict(status, status="error", error=f"{type(e).__name__}: {e}")
        return dict(status, status="ok", events_posted=len(events),
                    event_ids=[e["id"] for e in events], notes=notes[-self.max_notes:])

    def _collect(self, spec: AccountSpec, exchange: Any):
        has = getattr(exchange, "has", {}) or {}
        markets = exchange.load_markets() if hasattr(exchange, "load_markets") else None
        precision_mode = getattr(exchange, "precisionMode", None)
        fetched_at = self.clock()
        positions = exchange.fetch_positions(spec.symbols) if has.get("fetchPositions") else None
        open_orders = self._per_symbol(spec, lambda s: exchange.fetch_open_orders(s)) if has.get("fetchOpenOrders") else None
        balance = exchange.fetch_balance() if has.get("fetchBalance", True) else None
        snap = recon_ccxt.snapshot_event(spec.name, spec.venue, fetched_at_ms=fetched_at, positions=positions,
                                         open_orders=open_orders, balance=balance, markets=markets,
                                         symbols=spec.symbols, precision_mode=precision_mode)
        events = list(snap.events)
        notes = list(snap.notes)
        if has.get("fetchMyTrades"):
            to_ms = fetched_at - self.settle_ms
            from_ms = self.window_end.get(spec.name, to_ms - self.lookback_ms)
            if to_ms >= from_ms:
                trades = self._per_symbol(spec, lambda s: exchange.fetch_my_trades(s, since=from_ms))
                fills = recon_ccxt.fills_event(spec.name, spec.venue, trades, from_ms, to_ms, markets,
                                               fetched_at_ms=fetched_at, precision_mode=precision_mode)
                events += fills.events
                notes += fills.notes
                # The next window starts just after this one: no overlap, no gap.
                self.window_end[spec.name] = to_ms + 1
        return events, notes

    @staticmethod
    def _per_symbol(spec: AccountSpec, fetch: Callable[[Optional[str]], List[Mapping[str, Any]]]):
        if not spec.symbols:
            return list(fetch(None))
        out: List[Mapping[str, Any]] = []
        for symbol in spec.symbols:
            out += list(fetch(symbol))
        return out

    def _write_status(self) -> None:
        if not self.status_file:
            return
        path = Path(self.status_file)
        temp = path.with_suffix(path.suffix + ".tmp")
        temp.write_text(json.dumps({"written_at_ms": self.clock(), "accounts": self.status}, indent=2, sort_keys=True))
        os.replace(temp, path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", required=True, help="account map (JSON)")
    parser.add_argument("--recon", default="http://127.0.0.1:7878", help="recon serve base URL")
    parser.add_argument("--token", default=None, help="bearer token (default: $RECON_TOKEN)")
    parser.add_argument("--status-file", default="collector-status.json")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between rounds")
    parser.add_argument("--settle-ms", type=int, default=2_000)
    parser.add_argument("--lookback-ms", type=int, default=24 * 3600 * 1000)
    parser.add_argument("--once", action="store_true", help="one round, then exit (0 if every enabled account is ok)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    token = args.token or os.environ.get("RECON_TOKEN")
    if not token:
        parser.error("no token: pass --token or set RECON_TOKEN")
    accounts = load_accounts(args.accounts)
    with ReconClient(args.recon, token, flush_interval_s=None) as client:
        collector = Collector(accounts, client, args.status_file, settle_ms=args.settle_ms, lookback_ms=args.lookback_ms)
        while True:
            status = collector.poll_once()
            for name, s in status.items():
                log.info("%s: %s%s", name, s["status"], f" ({s['error']})" if s.get("error") else "")
            if args.once:
                return 0 if all(s["status"] in ("ok", "disabled") for s in status.values()) else 1
            time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
