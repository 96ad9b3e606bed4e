"""recon_client against a running `recon serve`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, TOKEN, Server, free_port
import recon_client as rc

T0 = 1_763_000_000_000


def bot_events(n: int, account: str = "bot1"):
    """An order and its fill, n times, with fixed times (so ids are stable)."""
    out = []
    for i in range(n):
        out.append(rc.order_submitted(account=account, order_id=f"o{i}", symbol="BTC-PERP", side="buy",
                                      qty="0.001", price=50000.5, ts_ms=T0 + 10 * i))
        out.append(rc.fill(account=account, fill_id=f"f{i}", order_id=f"o{i}", symbol="BTC-PERP", side="buy",
                           qty=0.001, price="50000.5", fee=3.36e-7, fee_asset="USDT", liquidity="maker",
                           ts_ms=T0 + 10 * i + 5))
    return out


def test_decimals_are_plain_text():
    assert rc.decimal_str(3.36e-7) == "0.000000336"
    assert rc.decimal_str(0.1) == "0.1"
    assert rc.decimal_str(0.4000000000000001) == "0.4000000000000001"
    assert rc.decimal_str("1e3") == "1000"
    assert rc.decimal_str(-0.0) == "0.0"  # never "-0"
    for bad in (float("nan"), float("inf"), True, None):
        with pytest.raises(ValueError):
            rc.decimal_str(bad)


def test_stable_ids_make_retries_safe():
    a = rc.normalize_event(bot_events(1)[1])
    b = rc.normalize_event(bot_events(1)[1])
    assert a["id"] == b["id"] and a["id"].startswith("fill:")
    assert rc.normalize_event(bot_events(1)[1], key=2)["id"] != a["id"]


def test_append_flush_and_resend_is_a_duplicate(server):
    with rc.ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        ids = client.extend(bot_events(5))
        client.flush()
        assert client.stats["appended"] == 10
    assert [e["id"] for e in server.events()] == ids
    # A new client (a restarted bot) sends the same events again: no new event.
    with rc.ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        client.extend(bot_events(5))
        client.flush()
        assert client.stats["duplicates"] == 10 and client.stats["appended"] == 0
    assert len(server.events()) == 10


def test_oversize_batches_are_split_until_they_fit(server):
    # The server takes at most 4096 bytes a request; 60 events are far more.
    with rc.ReconClient(server.url, TOKEN, batch_size=60, flush_interval_s=None, flush_at_exit=False) as client:
        client.extend(bot_events(30))
        client.flush()
        assert client.stats["splits"] > 0
        assert client.stats["appended"] == 60
    events = server.events()
    assert len(events) == 60 and [e["seq"] for e in events] == list(range(1, 61))


def test_a_rejected_event_is_reported_and_the_rest_are_stored(server):
    events = bot_events(3)
    bad = dict(events[2], quantity="1")  # unknown field: Recon rejects typos
    bad["id"] = "bad-1"
    with rc.ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        client.extend(events[:2] + [bad] + events[3:])
        with pytest.raises(rc.ReconRejected) as info:
            client.flush()
        assert info.value.status == 400
        assert info.value.field == "quantity"
        assert [e["id"] for e, _ in client.rejected] == ["bad-1"]
        assert client.pending() == 0
    stored = [e["id"] for e in server.events()]
    assert "bad-1" not in stored and len(stored) == 5


def test_a_conflicting_id_is_rejected_not_retried(server):
    e = bot_events(1)[0]
    e["id"] = "same-id"
    with rc.ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        client.append(e)
        client.flush()
        client.append(dict(e, qty="0.002"))
        with pytest.raises(rc.ReconRejected) as info:
            client.flush()
        assert info.value.status == 409
    assert len(server.events()) == 1


def test_wrong_token_keeps_events_buffered(server):
    with rc.ReconClient(server.url, "wrong", flush_interval_s=None, flush_at_exit=False) as client:
        client.extend(bot_events(1))
        with pytest.raises(rc.ReconAuthError):
            client.flush()
        assert client.pending() == 2
        client._buffer.clear()
    assert server.events() == []


def test_retries_until_the_server_is_back(folder):
    port = free_port()
    server = Server(folder, port=port)
    client = rc.ReconClient(f"http://127.0.0.1:{port}", TOKEN, flush_interval_s=None, flush_at_exit=False,
                            backoff_base_s=0.1, backoff_max_s=0.5, max_retries=40)
    client.extend(bot_events(2))
    starter = threading.Timer(0.8, server.start)
    starter.start()
    try:
        client.flush()  # connection refused at first, then accepted
        assert client.stats["retries"] > 0
        assert client.stats["appended"] == 4
    finally:
        starter.join()
        client.close()
        server.stop()


def test_reconcile_on_demand_returns_the_run(server):
    snapshot = {"type": "exchange_snapshot", "account": "bot1", "ts_ms": T0 + 100,
                "positions": [{"symbol": "BTC-PERP", "qty": "0.002", "entry_price": "50000.5"}]}
    with rc.ReconClient(server.url, TOKEN, flush_interval_s=None, flush_at_exit=False) as client:
        client.extend(bot_events(1) + [snapshot])
        report = client.reconcile("bot1", requested_by="pytest")
    assert report["context"]["trigger"] == "on_demand"
    assert report["context"]["requested_by"] == "pytest"
    assert any(d["type"] == "position_qty_mismatch" for d in report["discrepancies"])
    latest = json.loads(server.get("/v1/reports/latest?account=bot1"))
    assert latest["run_id"] == report["run_id"]


def test_flushes_at_interpreter_exit(server):
    script = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tools')!r})
import recon_client as rc
client = rc.ReconClient({server.url!r}, {TOKEN!r}, flush_interval_s=60)
client.append(rc.transfer(account="bot2", asset="USDT", amount="10", kind="deposit", ts_ms=1))
# no flush, no close: the atexit hook sends it
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert [e["account"] for e in server.events()] == ["bot2"]


def test_background_thread_sends_without_flush(server):
    client = rc.ReconClient(server.url, TOKEN, flush_interval_s=0.1, flush_at_exit=False)
    try:
        client.extend(bot_events(2))
        deadline = time.time() + 10
        while time.time() < deadline and len(server.events()) < 4:
            time.sleep(0.1)
        assert len(server.events()) == 4
    finally:
        client.close()
