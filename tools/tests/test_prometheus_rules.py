"""The shipped alert rules parse, name real metrics, and hold the contract's three."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml

from conftest import ROOT, TOKEN
import recon_client as rc

RULES = ROOT / "tools" / "prometheus" / "recon.rules.yml"


def load_rules():
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_rules_are_well_formed_and_cover_the_contract():
    rules = load_rules()
    by_name = {r["alert"]: r for r in rules}
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])
    assert by_name["ReconMakerRatioLow"]["expr"] == "recon_maker_taker_ratio < 0.80"
    assert by_name["ReconMakerRatioLow"]["for"] == "30m"
    assert by_name["ReconNetBpsHigh"]["expr"] == "recon_net_bps > 0.5"
    assert by_name["ReconNetBpsHigh"]["for"] == "30m"
    assert 'severity="critical"' in by_name["ReconCriticalDiscrepancy"]["expr"]


def test_promtool_accepts_the_rules_when_installed():
    promtool = shutil.which("promtool")
    if promtool is None:
        return  # the parse test above stands in for it
    subprocess.run([promtool, "check", "rules", str(RULES)], check=True)


def test_every_metric_a_rule_uses_is_served(server):
    with rc.ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        client.append(rc.fill(account="bot1", fill_id="f1", order_id="o1", symbol="BTC-PERP", side="buy", qty="1",
                              price="100", fee="0.01", fee_asset="USDT", liquidity="taker", ts_ms=1_763_000_000_000))
        client.append({"type": "exchange_snapshot", "account": "bot1", "ts_ms": 1_763_000_000_100,
                       "positions": [{"symbol": "BTC-PERP", "qty": "2", "entry_price": "100"}]})
        client.flush()
        client.reconcile("bot1", requested_by="pytest")
    text = server.get("/metrics", token=None).decode()
    served = set(re.findall(r"^(recon_[a-z_]+?)(?:_bucket|_sum|_count)?[{ ]", text, re.M))
    for rule in load_rules():
        for name in re.findall(r"\b(recon_[a-z_]+)", rule["expr"]):
            assert name in served, f"{rule['alert']} uses {name}, which /metrics does not serve"
