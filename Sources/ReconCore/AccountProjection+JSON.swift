/// The projection as JSON, with provenance: every value carries the seq of the
/// event that last changed it. Keys are sorted so output is deterministic.
extension AccountProjection {
    public enum Side: String, Sendable, CaseIterable {
        case local, remote, both
    }

    public func writeJSON(into w: inout JSONWriter, side: Side, atSeq: UInt64) {
        w.beginObject()
        w.field("account", account)
        w.key("at_seq")
        w.uint(atSeq)
        if let venue { w.field("venue", venue) }
        if side != .remote {
            w.key("local")
            w.objectValue { w in local.writeJSON(into: &w) }
        }
        if side != .local {
            w.key("remote")
            w.objectValue { w in remote.writeJSON(into: &w) }
        }
        if side == .both {
            w.key("fill_issues")
            w.objectValue { w in
                for id in fillIssues.keys.sorted() { w.field(id.string, fillIssues[id]!.rawValue) }
            }
        }
        w.endObject()
    }
}

extension LocalProjection {
    func writeJSON(into w: inout JSONWriter) {
        w.key("last_seq")
        w.uint(lastSeq)
        w.key("positions")
        w.arrayValue { w in
            for symbol in positions.keys.sorted() {
                let p = positions[symbol]!
                w.objectValue { w in
                    w.field("symbol", symbol.string)
                    w.field("qty", p.position.qty)
                    w.field("entry_price", p.position.entryPrice)
                    w.field("cost_basis", p.position.cost)
                    w.field("realized_pnl", p.realizedPnl)
                    w.field("settlement_asset", p.settlementAsset)
                    w.key("fills")
                    w.int(p.fillCount)
                    w.key("first_seq")
                    w.uint(p.firstSeq)
                    w.key("seq")
                    w.uint(p.lastSeq)
                    w.key("synthetic")
                    w.bool(p.synthetic)
                }
            }
        }
        w.key("open_orders")
        w.arrayValue { w in
            for id in openOrders.keys.sorted() {
                let o = openOrders[id]!
                w.objectValue { w in
                    w.field("order_id", id.string)
                    w.field("symbol", o.symbol)
                    w.field("side", o.side.rawValue)
                    w.field("qty", o.qty)
                    w.field("filled", o.filled)
                    w.field("remaining", o.remaining)
                    if let price = o.price { w.field("price", price) }
                    w.field("status", o.status.rawValue)
                    w.key("post_only")
                    w.bool(o.postOnly)
                    w.key("reduce_only")
                    w.bool(o.reduceOnly)
                    w.key("submitted_seq")
                    w.uint(o.submittedSeq)
                    w.key("seq")
                    w.uint(o.lastSeq)
                }
            }
        }
        w.key("balances")
        w.arrayValue { w in
            for asset in balances.keys.sorted() {
                let b = balances[asset]!
                w.objectValue { w in
                    w.field("asset", asset.string)
                    w.field("amount", b.amount)
                    w.key("seq")
                    w.uint(b.lastSeq)
                    w.key("synthetic")
                    w.bool(b.synthetic)
                }
            }
        }
        w.key("fees")
        w.arrayValue { w in
            for key in fees.keys.sorted() {
                let a = fees[key]!
                w.objectValue { w in
                    w.field("symbol", key.symbol)
                    w.field("liquidity", key.liquidity.rawValue)
                    w.key("count")
                    w.int(a.count)
                    w.field("notional", a.notional)
                    w.field("fee_net", a.feeSum)
                    w.key("first_seq")
                    w.uint(a.firstSeq)
                    w.key("seq")
                    w.uint(a.lastSeq)
                }
            }
        }
        w.key("fills_known")
        w.int(fills.count + settledFills.count)
        w.key("fills_unconfirmed")
        w.int(fills.count)
        w.key("duplicate_fills_ignored")
        w.int(duplicateFillsIgnored)
        w.key("closed_positions")
        w.int(closedPositions.count)
        w.key("findings")
        w.arrayValue { w in
            for f in findings {
                w.objectValue { w in
                    w.field("type", f.kind.rawValue)
                    w.field("fill_id", f.fillId)
                    w.field("order_id", f.orderId)
                    w.key("seq")
                    w.uint(f.seq)
                }
            }
        }
    }
}

extension RemoteProjection {
    func writeJSON(into w: inout JSONWriter) {
        w.key("last_seq")
        w.uint(lastSeq)
        if let latestAsOfMs {
            w.key("as_of_ms")
            w.int(latestAsOfMs)
        }
        w.key("positions")
        if positions.isKnown {
            w.arrayValue { w in
                for (symbol, e) in positions.items.sorted(by: { $0.key < $1.key }) {
                    w.objectValue { w in
                        w.field("symbol", symbol)
                        w.field("qty", e.item.qty)
                        w.field("entry_price", e.item.entryPrice)
                        w.key("as_of_ms")
                        w.int(e.asOfMs)
                        w.key("seq")
                        w.uint(e.seq)
                    }
                }
            }
        } else {
            w.null()
        }
        w.key("open_orders")
        if openOrders.isKnown {
            w.arrayValue { w in
                for (id, e) in openOrders.items.sorted(by: { $0.key < $1.key }) {
                    w.objectValue { w in
                        w.field("order_id", id)
                        w.field("symbol", e.item.symbol)
                        w.field("side", e.item.side.rawValue)
                        w.field("qty", e.item.qty)
                        w.field("remaining", e.item.remaining)
                        if let price = e.item.price { w.field("price", price) }
                        w.key("seq")
                        w.uint(e.seq)
                    }
                }
            }
        } else {
            w.null()
        }
        w.key("balances")
        if let balances {
            w.arrayValue { w in
                for asset in balances.keys.sorted() {
                    w.objectValue { w in
                        w.field("asset", asset)
                        w.field("total", balances[asset]!.total)
                        w.key("seq")
                        w.uint(balancesSeq)
                    }
                }
            }
        } else {
            w.null()
        }
        if let equity {
            w.field("equity", equity)
            w.key("equity_seq")
            w.uint(equitySeq)
        }
        w.key("fills_unmatched")
        w.int(fills.count)
        w.key("fill_history_windows")
        w.int(fillCoverage.count)
    }
}
