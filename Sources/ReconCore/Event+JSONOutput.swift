extension LoggedEvent {
    /// One NDJSON line (without the newline): `seq` and `ingest_ms` first, then the
    /// event as `recon append` accepts it again.
    public func jsonLine() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("seq")
        w.uint(seq)
        w.key("ingest_ms")
        w.int(ingestMs)
        event.writeFields(into: &w)
        w.endObject()
        return w.bytes
    }
}

extension Event {
    /// The event as one JSON object, in canonical field order.
    public func jsonObject() -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        writeFields(into: &w)
        w.endObject()
        return w.bytes
    }

    /// Writes the envelope and body fields into an open object.
    public func writeFields(into w: inout JSONWriter) {
        w.key("type")
        w.string(type.name)
        w.key("id")
        w.string(id)
        w.key("account")
        w.string(account)
        w.key("ts_ms")
        w.int(tsMs)
        if let venue {
            w.key("venue")
            w.string(venue)
        }
        switch body {
        case .instrument(let x):
            w.field("symbol", x.symbol)
            w.field("kind", x.kind.rawValue)
            w.field("base", x.base)
            w.field("quote", x.quote)
            w.field("contract_size", x.contractSize)
        case .orderSubmitted(let x):
            w.field("order_id", x.orderId)
            w.field("symbol", x.symbol)
            w.field("side", x.side.rawValue)
            w.field("qty", x.qty)
            if let price = x.price { w.field("price", price) }
            w.field("order_type", x.orderType.rawValue)
            w.key("post_only")
            w.bool(x.postOnly)
            w.key("reduce_only")
            w.bool(x.reduceOnly)
        case .orderCanceled(let x):
            w.field("order_id", x.orderId)
        case .orderRejected(let x):
            w.field("order_id", x.orderId)
            w.field("reason", x.reason)
        case .fill(let x):
            x.writeFields(into: &w)
        case .transfer(let x):
            w.field("asset", x.asset)
            w.field("amount", x.amount)
            w.field("kind", x.kind.rawValue)
        case .exchangeSnapshot(let x):
            if let positions = x.positions {
                w.key("positions")
                w.arrayValue { w in
                    for p in positions {
                        w.objectValue { w in
                            w.field("symbol", p.symbol)
                            w.field("qty", p.qty)
                            w.field("entry_price", p.entryPrice)
                        }
                    }
                }
            }
            if let orders = x.openOrders {
                w.key("open_orders")
                w.arrayValue { w in
                    for o in orders {
                        w.objectValue { w in
                            w.field("order_id", o.orderId)
                            w.field("symbol", o.symbol)
                            w.field("side", o.side.rawValue)
                            w.field("qty", o.qty)
                            w.field("remaining", o.remaining)
                            if let price = o.price { w.field("price", price) }
                        }
                    }
                }
            }
            if let balances = x.balances {
                w.key("balances")
                w.arrayValue { w in
                    for b in balances {
                        w.objectValue { w in
                            w.field("asset", b.asset)
                            w.field("total", b.total)
                        }
                    }
                }
            }
            if let equity = x.equity { w.field("equity", equity) }
            if let prices = x.prices {
                w.key("prices")
                w.arrayValue { w in
                    for m in prices {
                        w.objectValue { w in
                            w.field("symbol", m.symbol)
                            w.field("mark", m.mark)
                        }
                    }
                }
            }
            if let symbols = x.symbols {
                w.key("symbols")
                w.arrayValue { w in for s in symbols { w.string(s) } }
            }
        case .exchangeFills(let x):
            w.key("from_ms")
            w.int(x.fromMs)
            w.key("to_ms")
            w.int(x.toMs)
            w.key("fills")
            w.arrayValue { w in
                for f in x.fills { w.objectValue { w in f.writeFields(into: &w) } }
            }
        case .exchangePositionHistory(let x):
            w.key("from_ms")
            w.int(x.fromMs)
            w.key("to_ms")
            w.int(x.toMs)
            w.key("positions")
            w.arrayValue { w in
                for p in x.positions {
                    w.objectValue { w in
                        w.field("position_id", p.positionId)
                        w.field("symbol", p.symbol)
                        w.field("side", p.side.rawValue)
                        w.field("qty", p.qty)
                        w.field("entry_price", p.entryPrice)
                        w.key("entry_ts_ms")
                        w.int(p.entryTsMs)
                        w.field("close_price", p.closePrice)
                        w.key("close_ts_ms")
                        w.int(p.closeTsMs)
                        w.field("realized_pnl", p.realizedPnl)
                        w.field("commission", p.commission)
                        w.field("net_pnl", p.netPnl)
                    }
                }
            }
        case .reconRequested(let x):
            w.field("requested_by", x.requestedBy)
        case .correction(let x):
            w.field("key", x.key)
            w.field("source_run_id", x.sourceRunId)
            w.field("approved_by", x.approvedBy)
            switch x.effect {
            case .fill(let f):
                w.key("fill")
                w.objectValue { w in f.writeFields(into: &w) }
            case .positionAdjustment(let symbol, let qtyDelta, let price):
                w.key("position_adjustment")
                w.objectValue { w in
                    w.field("symbol", symbol)
                    w.field("qty_delta", qtyDelta)
                    w.field("price", price)
                }
            case .balanceAdjustment(let asset, let amount):
                w.key("balance_adjustment")
                w.objectValue { w in
                    w.field("asset", asset)
                    w.field("amount", amount)
                }
            }
        }
    }
}

extension FillRecord {
    /// Writes the fill's fields into an open object (venue records carry `ts_ms`).
    public func writeFields(into w: inout JSONWriter) {
        w.field("fill_id", fillId)
        w.field("order_id", orderId)
        w.field("symbol", symbol)
        w.field("side", side.rawValue)
        w.field("qty", qty)
        w.field("price", price)
        if let fee {
            w.field("fee", fee)
        } else if tsMs != nil {
            // A venue record with an unknown fee says so explicitly.
            w.key("fee")
            w.null()
        }
        if let feeAsset { w.field("fee_asset", feeAsset) }
        w.field("liquidity", liquidity.rawValue)
        if let tsMs {
            w.key("ts_ms")
            w.int(tsMs)
        }
    }
}

extension JSONWriter {
    /// `"key":"value"`.
    public mutating func field(_ key: String, _ value: String) {
        self.key(key)
        string(value)
    }

    /// `"key":"1.5"`: decimals are always strings.
    public mutating func field(_ key: String, _ value: ExactDecimal) {
        self.key(key)
        decimal(value)
    }

    /// `"key":"1.5"`, or `"key":null` when unknown.
    public mutating func field(_ key: String, _ value: ExactDecimal?) {
        self.key(key)
        if let value { decimal(value) } else { null() }
    }
}
