#!/usr/bin/env python3
"""Validate Recon fixtures against schemas/event.schema.json, report.schema.json and config.schema.json.

Every line of every fixtures/*/events.ndjson is checked:
  * it is one JSON object (no NaN/Infinity literals, no duplicate keys);
  * it validates against the event schema (JSON Schema draft 2020-12);
  * its id is unique in the file;
  * ts_ms and every other *_ms field is a JSON integer (not 1.0, not true);
  * exchange windows are well formed (to_ms >= from_ms, items inside the window);
  * fixture policy: decimals are strings (never JSON numbers), and seq and
    ingest_ms are not set (the engine assigns them).
Each fixture folder must also have a non-empty README. Its config.json, when
present, must validate against schemas/config.schema.json plus the parser's rules
the schema cannot express (integers written as integers, tier names that exist,
position_qty_ignore <= position_qty_critical, inventory_warn <= inventory_critical).
Every expected/run-*.json must validate against schemas/report.schema.json plus
the report's internal consistency (run_id and account of each discrepancy, keys,
divergence_count, impact_total_quote, orders_local_only / orders_remote_only).

Negative checks then prove the report and config schemas are not permissive:
known-bad reports and configs (an unknown discrepancy type, a decimal written as
a JSON number, an unknown config key, ...) must FAIL; each that does counts as
passed.

The last line printed is "N passed, M failed" (one check per event line, per
folder file, per report and per negative check); the exit status is non-zero
when anything failed.

    python3 tools/validate_fixtures.py              # validate the fixtures
    python3 tools/validate_fixtures.py --self-test  # prove the schema rejects bad events
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

try:
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("validate_fixtures: the 'jsonschema' package is required (pip install jsonschema)\n")
    sys.exit(2)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = ROOT / "schemas" / "event.schema.json"
DEFAULT_REPORT_SCHEMA = ROOT / "schemas" / "report.schema.json"
DEFAULT_CONFIG_SCHEMA = ROOT / "schemas" / "config.schema.json"
DEFAULT_FIXTURES = ROOT / "fixtures"

# Integer-valued fields: everything else that is a JSON number would be a decimal.
INTEGER_FIELDS = {"seq"}
# Fields a fixture must not set: the engine assigns them on append.
ENGINE_FIELDS = ("seq", "ingest_ms")


class LineError(Exception):
    """A fault in one line, with the field it concerns (dotted path) when known."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def __str__(self) -> str:
        return f'field "{self.field}": {self.reason}' if self.field else self.reason


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number Recon accepts")


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f'duplicate key "{key}"')
        obj[key] = value
    return obj


def parse_line(text: str) -> dict:
    """Parses one NDJSON line strictly; raises LineError."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise LineError(f"not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise LineError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _path(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or None


def schema_errors(validator: Draft202012Validator, event: dict) -> list[str]:
    """Schema violations, most specific first, each naming its field."""
    errors = sorted(validator.iter_errors(event), key=lambda e: (-len(e.absolute_path), str(e.message)))
    out = []
    for err in errors:
        # Drill into if/then and anyOf wrappers for the error that names a field.
        leaf = err
        while leaf.context:
            leaf = max(leaf.context, key=lambda e: len(e.absolute_path))
        field = _path(leaf.absolute_path)
        message = leaf.message if len(leaf.message) <= 240 else leaf.message[:240] + "..."
        out.append(str(LineError(message, field)))
    return out


def _walk(value, parts=()):
    """Yields (path parts, key, value) for every object member, recursively."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield parts + (key,), key, item
            yield from _walk(item, parts + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, parts + (index,))


def structural_errors(event: dict) -> list[str]:
    """Checks the schema cannot express: exact integer types and window bounds."""
    errs = []
    for parts, key, value in _walk(event):
        if key.endswith("_ms") or key in INTEGER_FIELDS:
            if value is None and key in ENGINE_FIELDS:
                continue  # nullable in exports; the schema checks the rest
            if isinstance(value, bool) or not isinstance(value, int):
                errs.append(str(LineError(f"expected a JSON integer, got {json.dumps(value)}", _path(parts))))
    kind = event.get("type")
    if kind in ("exchange_fills", "exchange_position_history"):
        lo, hi = event.get("from_ms"), event.get("to_ms")
        if isinstance(lo, int) and isinstance(hi, int) and not isinstance(lo, bool) and not isinstance(hi, bool):
            if hi < lo:
                errs.append(str(LineError(f"the window ends ({hi}) before it starts ({lo})", "to_ms")))
            items = event.get("fills" if kind == "exchange_fills" else "positions")
            stamp = "ts_ms" if kind == "exchange_fills" else "close_ts_ms"
            list_name = "fills" if kind == "exchange_fills" else "positions"
            if isinstance(items, list):
                for index, item in enumerate(items):
                    t = item.get(stamp) if isinstance(item, dict) else None
                    if isinstance(t, int) and not isinstance(t, bool) and not lo <= t <= hi:
                        errs.append(str(LineError(f"{t} is outside the window [{lo}, {hi}]", f"{list_name}[{index}].{stamp}")))
    return errs


def policy_errors(event: dict) -> list[str]:
    """Fixture conventions beyond what the engine accepts."""
    errs = []
    for name in ENGINE_FIELDS:
        if name in event:
            errs.append(str(LineError("fixtures must not set it (the engine assigns it)", name)))
    for parts, key, value in _walk(event):
        if key.endswith("_ms") or key in INTEGER_FIELDS:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            errs.append(str(LineError(f"fixtures write decimals as strings, got the number {json.dumps(value)}", _path(parts))))
    return errs


def check_event_line(validator, text: str, seen_ids: dict[str, int], line_no: int, policy: bool = True) -> list[str]:
    """All faults of one line (empty list: it passes)."""
    if not text.strip():
        return ["blank line"]
    try:
        event = parse_line(text)
    except LineError as exc:
        return [str(exc)]
    errs = schema_errors(validator, event) + structural_errors(event)
    if policy:
        errs += policy_errors(event)
    event_id = event.get("id")
    if isinstance(event_id, str):
        if event_id in seen_ids:
            errs.append(str(LineError(f'duplicate id "{event_id}" (first on line {seen_ids[event_id]})', "id")))
        else:
            seen_ids[event_id] = line_no
    return errs


# --- reports and configs ----------------------------------------------------------


def parse_document(text: str):
    """Parses a whole JSON document strictly; JSON numbers with a fraction or an
    exponent become Decimal, so the schemas never see a binary float (and 1000.0
    is not an integer). Raises LineError."""
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys,
                          parse_float=Decimal)
    except ValueError as exc:
        raise LineError(f"not valid JSON: {exc}") from None


def _dec(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value)) if isinstance(value, (str, int, Decimal)) else None
    except InvalidOperation:
        return None


def report_errors(validator, report) -> list[str]:
    """Schema violations plus consistency the schema cannot express."""
    errs = schema_errors(validator, report) if isinstance(report, dict) else ["expected a JSON object"]
    if errs:
        return errs
    for parts, key, value in _walk(report):
        if isinstance(value, Decimal):
            errs.append(str(LineError(f"the engine writes decimals as strings and counts as integers, got the number {value}",
                                      _path(parts))))
    discrepancies = report["discrepancies"]
    for i, d in enumerate(discrepancies):
        where = f"discrepancies[{i}]"
        if d["run_id"] != report["run_id"]:
            errs.append(str(LineError(f'"{d["run_id"]}" is not the report\'s run_id "{report["run_id"]}"', f"{where}.run_id")))
        if d["account"] != report["account"]:
            errs.append(str(LineError(f'"{d["account"]}" is not the report\'s account', f"{where}.account")))
        if not d["key"].startswith(f'{d["type"]}:{d["account"]}:'):
            errs.append(str(LineError(f'"{d["key"]}" does not start with "<type>:<account>:"', f"{where}.key")))
        subject = {"order_": "order_id", "positi": "symbol", "balanc": "asset"}.get(d["type"][:6])
        if d["type"].startswith("fill_") and d["type"] != "fill_fee_mismatch":
            subject = "fill_id"
        if subject and not d["key"].endswith(":" + str(d.get(subject))):
            errs.append(str(LineError(f'"{d["key"]}" does not end with its {subject}', f"{where}.key")))
        if d["first_seen_seq"] > report["at_seq"]:
            errs.append(str(LineError(f'{d["first_seen_seq"]} is after the run\'s at_seq {report["at_seq"]}', f"{where}.first_seen_seq")))
    keys = [d["key"] for d in discrepancies]
    if len(set(keys)) != len(keys):
        errs.append(str(LineError("a key appears twice", "discrepancies")))
    non_info = sum(1 for d in discrepancies if d["severity"] != "info")
    if report["divergence_count"] != non_info:
        errs.append(str(LineError(f"{report['divergence_count']}, but {non_info} discrepancies are warning or critical",
                                  "divergence_count")))
    total = sum((Decimal(d["impact_quote"]) for d in discrepancies if d["impact_quote"] is not None), Decimal(0))
    if Decimal(report["impact_total_quote"]) != total:
        errs.append(str(LineError(f"{report['impact_total_quote']}, but the discrepancies' impact_quote sum to {total}",
                                  "impact_total_quote")))
    for field, kind in (("orders_local_only", "order_missing_remote"), ("orders_remote_only", "order_missing_local")):
        ids = sorted(d["order_id"] for d in discrepancies if d["type"] == kind)
        if report[field] != ids:
            errs.append(str(LineError(f"expected the sorted order ids of the {kind} discrepancies {ids}", field)))
    for i, c in enumerate(report["corrections_proposed"]):
        if c["key"] not in keys:
            errs.append(str(LineError(f'"{c["key"]}" answers no discrepancy of this run', f"corrections_proposed[{i}].key")))
    return errs


BUILTIN_TIERS = {"VIP0", "VIP1", "VIP2", "VIP3", "MM_Tier_A"}
# Threshold defaults the parser's range rules start from (Config.swift, Thresholds).
_BANDS = (("position_qty_ignore", "0.001", "position_qty_critical", "0.01"),
          ("inventory_warn", "0.10", "inventory_critical", "0.25"))
_NON_THRESHOLD = {"fees", "fee_profiles", "symbols", "assets"}


def config_errors(validator, config) -> list[str]:
    """Schema violations plus the parser's rules the schema cannot express."""
    errs = schema_errors(validator, config) if isinstance(config, dict) else ["expected a JSON object"]
    if errs:
        return errs
    tiers = BUILTIN_TIERS | set(config.get("fee_tiers", {}))

    def tier_of(choice):
        if isinstance(choice, str):
            return choice
        if isinstance(choice, dict) and set(choice) == {"tier"}:
            return choice["tier"]
        return None

    levels = [("defaults", config.get("defaults", {}))]
    levels += [(f"accounts.{name}", body) for name, body in config.get("accounts", {}).items()]
    for path, level in levels:
        choices = [(f"{path}.fees", level["fees"])] if "fees" in level else []
        choices += [(f"{path}.fee_profiles.{s}", c) for s, c in level.get("fee_profiles", {}).items()]
        for where, choice in choices:
            name = tier_of(choice)
            if name is not None and name not in tiers:
                errs.append(str(LineError(f'unknown fee tier "{name}" (known: {", ".join(sorted(tiers))})', where)))
    objects = [(p, {k: v for k, v in o.items() if k not in _NON_THRESHOLD}) for p, o in levels]
    for section in ("symbols", "assets"):
        objects += [(f"{section}.{k}", o) for k, o in config.get(section, {}).items()]
        for name, body in config.get("accounts", {}).items():
            objects += [(f"accounts.{name}.{section}.{k}", o) for k, o in body.get(section, {}).items()]
    for path, obj in objects:
        for low_key, low_default, high_key, high_default in _BANDS:
            low, high = _dec(obj.get(low_key, low_default)), _dec(obj.get(high_key, high_default))
            if low is not None and high is not None and low > high:
                errs.append(str(LineError(f"{low_key} ({low}) must not exceed {high_key} ({high})", path)))
    return errs


# A complete report as the engine writes it: the base of the negative checks.
_GOOD_REPORT = {
    "run_id": "run-0123456789abcdef01234567", "account": "bot1", "at_seq": 8, "at_ms": 1763007260000,
    "remote_as_of_ms": 1763007260000, "context": {"trigger": "replay", "seq": 8, "id": "bot1-ev-0008"},
    "status": "warning", "is_clean": False,
    "discrepancies": [{
        "key": "balance_mismatch:bot1:USDT", "type": "balance_mismatch", "severity": "warning", "account": "bot1",
        "asset": "USDT", "local": "50003.550125", "remote": "50005.249875", "delta": "1.69975",
        "thresholds": {"cash_tolerance": "1"}, "local_seq": 6, "remote_seq": 8, "impact_quote": "1.69975",
        "first_seen_seq": 8, "runs_seen": 1, "run_id": "run-0123456789abcdef01234567",
        "message": "USDT: 50003.550125 locally, 50005.249875 on the venue (delta 1.69975)"}],
    "orders_local_only": [], "orders_remote_only": [], "position_deltas": {}, "divergence_count": 1,
    "positions_checked": 1,
    "fees_report": {"gross_notional": "5100.25", "maker_notional": "5100.25", "taker_notional": "0", "maker_count": 2,
                    "taker_count": 0, "fees_absolute": "0", "rebates_absolute": "2.550125", "net_absolute": "-2.550125",
                    "fees_bps": "0", "rebates_bps": "5", "net_bps": "-5", "maker_taker_ratio": "1",
                    "expected_fees_absolute": "0", "expected_rebates_absolute": "2.550125",
                    "expected_net_absolute": "-2.550125", "expected_net_bps": "-5", "fee_delta_absolute": "0"},
    "impact_total_quote": "1.69975",
    "corrections_proposed": [{"key": "balance_mismatch:bot1:USDT", "kind": "balance_adjustment",
                              "balance_adjustment": {"asset": "USDT", "amount": "1.69975"}, "auto_applicable": False,
                              "reason": "adjust USDT by 1.69975 to the venue's balance"}],
    "checks": {"orders": "ran", "positions": "ran", "balances": "ran", "fills": "ran", "fees": "ran",
               "closed_positions": "no venue position history reported", "inventory": "no target_base_pct configured",
               "accounting": "ran"},
    "remote_age_ms": {"positions": 0, "open_orders": 0, "balances": 0, "equity": 0, "trade_history": 0,
                      "position_history": None},
    "config_hash": "sha256:" + "0" * 64, "duration_ms": 0,
}

_GOOD_CONFIG = {"defaults": {"fees": {"tier": "MM_Tier_A"}, "clock_skew_ms": 1000},
                "accounts": {"bot1": {"target_base_pct": "0.5", "checks": {"orders": False}}}}


def _mutate(base: dict, change) -> dict:
    doc = copy.deepcopy(base)
    change(doc)
    return doc


def _d0(doc) -> dict:
    return doc["discrepancies"][0]


# Reports and configs the schemas (with the consistency checks) must reject.
BAD_REPORTS = [
    ("an unknown discrepancy type", lambda r: _d0(r).update(type="balance_drift", key="balance_drift:bot1:USDT")),
    ("a decimal written as a JSON number", lambda r: _d0(r).update(delta=Decimal("1.69975"))),
    ("impact_total_quote as a JSON number", lambda r: r.update(impact_total_quote=Decimal("1.69975"))),
    ("a decimal with a trailing zero", lambda r: _d0(r).update(delta="1.699750")),
    ("a decimal in exponent form", lambda r: r["fees_report"].update(net_bps="-5e0")),
    ("an unknown report field", lambda r: r.update(notes="hello")),
    ("an unknown severity", lambda r: _d0(r).update(severity="high")),
    ("an unknown trigger", lambda r: r["context"].update(trigger="manual")),
    ("status ok with a warning", lambda r: r.update(status="ok")),
    ("a negative seq", lambda r: _d0(r).update(local_seq=-1)),
    ("at_seq written as 8.0", lambda r: r.update(at_seq=Decimal("8.0"))),
    ("remote_as_of_ms missing (nullable, not optional)", lambda r: r.pop("remote_as_of_ms")),
    ("a balance_mismatch without its asset", lambda r: _d0(r).pop("asset")),
    ("fees_report without net_bps", lambda r: r["fees_report"].pop("net_bps")),
    ("a discrepancy from another run", lambda r: _d0(r).update(run_id="run-ffffffffffffffffffffffff")),
    ("divergence_count off by one", lambda r: r.update(divergence_count=2)),
]

BAD_CONFIGS = [
    ("an unknown top-level key", lambda c: c.update(default={})),
    ("a misspelt threshold", lambda c: c["defaults"].update(cash_tolerence="1")),
    ("an unknown fee tier", lambda c: c["defaults"].update(fees={"tier": "VIP9"})),
    ("an unknown check", lambda c: c["accounts"]["bot1"]["checks"].update(order=False)),
    ("a check switch as a string", lambda c: c["accounts"]["bot1"]["checks"].update(orders="false")),
    ("clock_skew_ms as a string", lambda c: c["defaults"].update(clock_skew_ms="1000")),
    ("clock_skew_ms written as 1000.0", lambda c: c["defaults"].update(clock_skew_ms=Decimal("1000.0"))),
    ("target_base_pct above 1", lambda c: c["accounts"]["bot1"].update(target_base_pct="1.5")),
    ("position_qty_ignore above the default critical", lambda c: c["defaults"].update(position_qty_ignore="0.05")),
    ("a profile naming an undefined custom tier", lambda c: c.update(fee_tiers={"T1": {"maker_bps": "0", "taker_bps": "2"}})
        or c["defaults"].update(fee_profiles={"*": "T2"})),
]


class Tally:
    """Counts checks that passed and failed; prints failures (and passes when verbose)."""

    def __init__(self, verbose: bool):
        self.verbose = verbose
        self.passed = self.failed = 0

    def outcome(self, ok: bool, label: str, detail: str):
        if ok:
            self.passed += 1
            if self.verbose:
                print(f"ok   {label}: {detail}")
        else:
            self.failed += 1
            print(f"FAIL {label}: {detail}")


def negative_checks(report_validator, config_validator, verbose: bool) -> tuple[int, int]:
    tally = Tally(verbose)
    outcome = tally.outcome

    errs = report_errors(report_validator, _GOOD_REPORT)
    outcome(not errs, "report schema accepts a good report", "; ".join(errs) or "valid")
    for name, change in BAD_REPORTS:
        errs = report_errors(report_validator, _mutate(_GOOD_REPORT, change))
        outcome(bool(errs), f"report check rejects {name}", errs[0] if errs else "was ACCEPTED")
    errs = config_errors(config_validator, _GOOD_CONFIG)
    outcome(not errs, "config schema accepts a good config", "; ".join(errs) or "valid")
    for name, change in BAD_CONFIGS:
        errs = config_errors(config_validator, _mutate(_GOOD_CONFIG, change))
        outcome(bool(errs), f"config check rejects {name}", errs[0] if errs else "was ACCEPTED")
    return tally.passed, tally.failed


def load_validator(schema_path: Path) -> Draft202012Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_fixtures(validator, fixtures_dir: Path, verbose: bool, report_validator=None,
                      config_validator=None) -> tuple[int, int]:
    passed = failed = 0

    def report(ok: bool, where: str, errs: list[str]):
        nonlocal passed, failed
        if ok:
            passed += 1
            if verbose:
                print(f"ok   {where}")
        else:
            failed += 1
            for err in errs:
                print(f"FAIL {where}: {err}")

    folders = sorted(p for p in fixtures_dir.iterdir() if p.is_dir()) if fixtures_dir.is_dir() else []
    if not folders:
        report(False, str(fixtures_dir), ["no fixture folders found"])
    for folder in folders:
        rel = folder.relative_to(fixtures_dir.parent) if fixtures_dir.parent in folder.parents else folder
        log = folder / "events.ndjson"
        if not log.is_file():
            report(False, f"{rel}", ["events.ndjson is missing"])
            continue
        raw = log.read_bytes()
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            report(False, f"{rel}/events.ndjson", [f"not UTF-8: {exc}"])
            continue
        if content and not content.endswith("\n"):
            report(False, f"{rel}/events.ndjson", ["the last line does not end with a newline"])
        lines = content.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines:
            report(False, f"{rel}/events.ndjson", ["no events"])
        seen: dict[str, int] = {}
        for number, text in enumerate(lines, start=1):
            errs = check_event_line(validator, text, seen, number)
            report(not errs, f"{rel}/events.ndjson:{number}", errs)

        readme = folder / "README"
        if readme.is_file() and readme.read_text(encoding="utf-8").strip():
            report(True, f"{rel}/README", [])
        else:
            report(False, f"{rel}/README", ["missing or empty (say what happened and what a good operator wants to see)"])

        config = folder / "config.json"
        if config.exists():
            try:
                value = parse_document(config.read_text(encoding="utf-8"))
                errs = config_errors(config_validator, value) if config_validator else (
                    [] if isinstance(value, dict) else ["expected a JSON object"])
                report(not errs, f"{rel}/config.json", errs)
            except (LineError, UnicodeDecodeError) as exc:
                report(False, f"{rel}/config.json", [str(exc)])

        if report_validator:
            for run in sorted((folder / "expected").glob("run-*.json")):
                try:
                    errs = report_errors(report_validator, parse_document(run.read_text(encoding="utf-8")))
                except (LineError, UnicodeDecodeError) as exc:
                    errs = [str(exc)]
                report(not errs, f"{rel}/expected/{run.name}", errs)
    return passed, failed


# --- self-test -----------------------------------------------------------------

_ENV = {"id": "t-1", "account": "bot1", "ts_ms": 1763000000000, "venue": "binance"}


def _ev(event_type: str, **fields) -> dict:
    event = {"type": event_type, **_ENV}
    event.update(fields)
    return event


_VENUE_FILL = {"fill_id": "f-1", "order_id": "o-1", "symbol": "BTC-PERP", "side": "buy", "qty": "0.1",
               "price": "65000", "fee": "-3.25", "fee_asset": "USDT", "liquidity": "maker", "ts_ms": 1763000000000}

# Events the schema must accept: one of each type, plus the lenient input forms.
GOOD = [
    ("instrument", _ev("instrument", symbol="BTC/USDT", kind="spot", base="BTC", quote="USDT")),
    ("instrument with contract_size", _ev("instrument", symbol="BTC-PERP", kind="perp", base="BTC", quote="USDT", contract_size="0.001")),
    ("limit order", _ev("order_submitted", order_id="o-1", symbol="BTC-PERP", side="buy", qty="0.1", price="65000",
                        order_type="limit", post_only=True, reduce_only=False)),
    ("market order without price", _ev("order_submitted", order_id="o-2", symbol="BTC-PERP", side="sell", qty="0.1", order_type="market")),
    ("order_canceled", _ev("order_canceled", order_id="o-1")),
    ("order_rejected", _ev("order_rejected", order_id="o-1", reason="post-only order would take liquidity")),
    ("fill", _ev("fill", fill_id="f-1", order_id="o-1", symbol="BTC-PERP", side="buy", qty="0.1", price="65000",
                 fee="-3.25", fee_asset="USDT", liquidity="maker")),
    ("fill with JSON-number decimals", _ev("fill", fill_id="f-1", order_id="o-1", symbol="BTC-PERP", side="buy", qty=0.1,
                                           price=65000, fee=-3.25, fee_asset="USDT", liquidity="maker")),
    ("transfer", _ev("transfer", asset="USDT", amount="-2.6", kind="funding")),
    ("snapshot, every section", _ev("exchange_snapshot",
        positions=[{"symbol": "BTC-PERP", "qty": "-0.3", "entry_price": "65200"}],
        open_orders=[{"order_id": "o-1", "symbol": "BTC-PERP", "side": "buy", "qty": "0.2", "remaining": "0.15", "price": "64970"}],
        balances=[{"asset": "USDT", "total": "100017.49975"}], equity="100019.49975",
        prices=[{"symbol": "BTC-PERP", "mark": "65000"}], symbols=["BTC-PERP"])),
    ("snapshot, empty lists", _ev("exchange_snapshot", positions=[], open_orders=[])),
    ("exchange_fills", _ev("exchange_fills", from_ms=1762999000000, to_ms=1763000000000, fills=[_VENUE_FILL])),
    ("exchange_fills item with unknown fee", _ev("exchange_fills", from_ms=1762999000000, to_ms=1763000000000,
        fills=[dict(_VENUE_FILL, fee=None, fee_asset=None)])),
    ("exchange_position_history", _ev("exchange_position_history", from_ms=1762999000000, to_ms=1763000000000, positions=[{
        "position_id": "p-1", "symbol": "ETH-PERP", "side": "long", "qty": "1.5", "entry_price": "3400",
        "entry_ts_ms": 1762999100000, "close_price": "3420", "close_ts_ms": 1762999400000,
        "realized_pnl": "30", "commission": "3.069", "net_pnl": "26.931"}])),
    ("recon_requested", _ev("recon_requested", requested_by="ops:alice")),
    ("correction with fill", _ev("correction", key="fill_missing_local:bot1:f-1", source_run_id="r-1",
                                 approved_by="ops:alice", fill=_VENUE_FILL)),
    ("correction with position_adjustment", _ev("correction", key="k", source_run_id="r-1", approved_by="ops:alice",
        position_adjustment={"symbol": "BTC-PERP", "qty_delta": "-0.05", "price": "65000"})),
    ("correction with balance_adjustment", _ev("correction", key="k", source_run_id="r-1", approved_by="ops:alice",
        balance_adjustment={"asset": "USDT", "amount": "-2.62"})),
    ("export with seq and ingest_ms", dict(_ev("order_canceled", order_id="o-1"), seq=42, ingest_ms=1763000000123)),
    ("null venue", dict(_ev("order_canceled", order_id="o-1"), venue=None)),
]

_FILL = GOOD[6][1]

# Events the schema must reject on its own.
BAD = [
    ("unknown type", _ev("order_amended", order_id="o-1")),
    ("missing account", {k: v for k, v in _FILL.items() if k != "account"}),
    ("missing type", {k: v for k, v in _FILL.items() if k != "type"}),
    ("missing ts_ms", {k: v for k, v in _FILL.items() if k != "ts_ms"}),
    ("qty is true", dict(_FILL, qty=True)),
    ("unknown extra field", dict(_FILL, note="hello")),
    ("unknown field inside a snapshot position", _ev("exchange_snapshot",
        positions=[{"symbol": "BTC-PERP", "qty": "1", "entry_price": "65000", "leverage": "10"}])),
    ("qty is the string NaN", dict(_FILL, qty="NaN")),
    ("price is the string Infinity", dict(_FILL, price="Infinity")),
    ("decimal string in exponent form", dict(_FILL, qty="1e-7")),
    ("decimal string with a leading zero", dict(_FILL, price="065000")),
    ("decimal string with a trailing dot", dict(_FILL, price="65000.")),
    ("decimal with 19 fractional digits", dict(_FILL, fee="0.0000000000000000001")),
    ("zero fill qty", dict(_FILL, qty="0")),
    ("negative fill qty", dict(_FILL, qty="-0.1")),
    ("bad side", dict(_FILL, side="long")),
    ("bad liquidity", dict(_FILL, liquidity="both")),
    ("fill without fee", {k: v for k, v in _FILL.items() if k != "fee"}),
    ("ts_ms is a string", dict(_FILL, ts_ms="1763000000000")),
    ("ts_ms has a fraction", dict(_FILL, ts_ms=1763000000000.5)),
    ("negative ts_ms", dict(_FILL, ts_ms=-1)),
    ("empty id", dict(_FILL, id="")),
    ("id longer than 128 characters", dict(_FILL, id="x" * 129)),
    ("account with a control character", dict(_FILL, account="bot\n1")),
    ("limit order without price", _ev("order_submitted", order_id="o-1", symbol="BTC-PERP", side="buy", qty="0.1", order_type="limit")),
    ("post_only is a string", dict(GOOD[2][1], post_only="true")),
    ("bad transfer kind", _ev("transfer", asset="USDT", amount="1", kind="airdrop")),
    ("exchange_fills item without ts_ms", _ev("exchange_fills", from_ms=1, to_ms=2,
        fills=[{k: v for k, v in _VENUE_FILL.items() if k != "ts_ms"}])),
    ("correction with two effects", _ev("correction", key="k", source_run_id="r-1", approved_by="ops:alice",
        fill=_VENUE_FILL, balance_adjustment={"asset": "USDT", "amount": "1"})),
    ("correction with no effect", _ev("correction", key="k", source_run_id="r-1", approved_by="ops:alice")),
    ("position history with bad side", _ev("exchange_position_history", from_ms=1, to_ms=2, positions=[{
        "position_id": "p-1", "symbol": "ETH-PERP", "side": "buy", "qty": "1.5", "entry_price": "3400",
        "entry_ts_ms": 1, "close_price": "3420", "close_ts_ms": 2, "realized_pnl": "30", "commission": "3", "net_pnl": "27"}])),
]

# Raw lines the full line check (parser + schema + extra checks) must reject.
BAD_LINES = [
    ("bare NaN literal", '{"type":"fill","id":"x","account":"bot1","ts_ms":1,"fill_id":"f","order_id":"o","symbol":"S",'
                         '"side":"buy","qty":NaN,"price":"1","fee":"0","fee_asset":"USDT","liquidity":"maker"}'),
    ("bare Infinity literal", '{"type":"transfer","id":"x","account":"bot1","ts_ms":1,"asset":"USDT","amount":Infinity,"kind":"deposit"}'),
    ("duplicate key", '{"type":"order_canceled","id":"x","account":"bot1","ts_ms":1,"order_id":"o-1","order_id":"o-2"}'),
    ("ts_ms written as 1.0", '{"type":"order_canceled","id":"x","account":"bot1","ts_ms":1.0,"order_id":"o-1"}'),
    ("window ends before it starts", '{"type":"exchange_fills","id":"x","account":"bot1","ts_ms":5,"from_ms":5,"to_ms":4,"fills":[]}'),
    ("not an object", '["type","fill"]'),
    ("truncated line", '{"type":"order_canceled","id":"x"'),
]


def self_test(validator, verbose: bool) -> tuple[int, int]:
    tally = Tally(verbose)
    outcome = tally.outcome

    for name, event in GOOD:
        errs = schema_errors(validator, event) + structural_errors(event)
        outcome(not errs, f"accepts {name}", "; ".join(errs) or "valid")
    for name, event in BAD:
        errs = schema_errors(validator, event)
        outcome(bool(errs), f"schema rejects {name}", errs[0] if errs else "was ACCEPTED")
    for name, text in BAD_LINES:
        errs = check_event_line(validator, text, {}, 1, policy=False)
        outcome(bool(errs), f"line check rejects {name}", errs[0] if errs else "was ACCEPTED")
    seen: dict[str, int] = {}
    line = json.dumps(_ev("order_canceled", order_id="o-1"))
    first = check_event_line(validator, line, seen, 1)
    second = check_event_line(validator, line, seen, 2)
    outcome(not first and bool(second), "line check rejects a repeated id", second[0] if second else "was ACCEPTED")
    numeric = json.dumps(GOOD[7][1])
    errs = check_event_line(validator, numeric, {}, 1, policy=True)
    outcome(bool(errs), "fixture policy rejects JSON-number decimals", errs[0] if errs else "was ACCEPTED")
    return tally.passed, tally.failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="event schema (default: schemas/event.schema.json)")
    parser.add_argument("--report-schema", type=Path, default=DEFAULT_REPORT_SCHEMA,
                        help="report schema (default: schemas/report.schema.json)")
    parser.add_argument("--config-schema", type=Path, default=DEFAULT_CONFIG_SCHEMA,
                        help="config schema (default: schemas/config.schema.json)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES, help="fixture root (default: fixtures/)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that the schemas accept good and reject bad events, reports and configs")
    parser.add_argument("-v", "--verbose", action="store_true", help="print passing checks too")
    args = parser.parse_args(argv)

    validators = []
    for path in (args.schema, args.report_schema, args.config_schema):
        try:
            validators.append(load_validator(path))
        except (OSError, ValueError) as exc:
            print(f"FAIL cannot load schema {path}: {exc}")
            print("0 passed, 1 failed")
            return 1
        except Exception as exc:  # jsonschema.SchemaError
            print(f"FAIL schema {path} is not a valid draft 2020-12 schema: {exc}")
            print("0 passed, 1 failed")
            return 1
    validator, report_validator, config_validator = validators

    if args.self_test:
        passed, failed = self_test(validator, args.verbose)
    else:
        passed, failed = validate_fixtures(validator, args.fixtures, args.verbose, report_validator, config_validator)
    more_passed, more_failed = negative_checks(report_validator, config_validator, args.verbose)
    passed, failed = passed + more_passed, failed + more_failed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
