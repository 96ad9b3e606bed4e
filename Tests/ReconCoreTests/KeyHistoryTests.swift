import Testing
@testable import ReconCore

/// One value followed through events: which events changed it, on which side,
/// and what the venue's reports say about it when a list is scoped.
@Suite struct KeyHistoryTests {
    func history(_ key: ProjectionKey, _ lines: [String]) throws -> [String] {
        let text = lines.enumerated().map { i, line in #"{"id":"e\#(i + 1)","account":"a","# + line.dropFirst() }.joined(separator: "\n")
        let decoded = try Array(text.utf8).withUnsafeBytes { try NDJSON.decode($0) }
        var projection = AccountProjection(account: "a")
        var history = KeyHistory(key: key, from: projection)
        for (i, d) in decoded.enumerated() {
            projection.apply(d.event, seq: UInt64(i + 1))
            history.note(d.event, seq: UInt64(i + 1), after: projection)
        }
        return history.changes.map { "\($0.seq) \($0.side) \($0.value ?? "nil")" }
    }

    static let submit = #"{"type":"order_submitted","ts_ms":1000,"order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"2","price":"100","order_type":"limit"}"#
    static func fill(_ id: String, _ symbol: String, order: String) -> String {
        #"{"type":"fill","ts_ms":1100,"fill_id":"\#(id)","order_id":"\#(order)","symbol":"\#(symbol)","side":"buy","qty":"1","price":"100","fee":"0.01","fee_asset":"USDT","liquidity":"maker"}"#
    }

    /// A list scoped to another symbol says nothing about the order; a list of
    /// all symbols without it says it is not open; the bot's fills of another
    /// order leave it alone.
    @Test func anOrderThroughScopedAndCompleteLists() throws {
        let lines = [
            Self.submit,
            #"{"type":"exchange_snapshot","ts_ms":1200,"open_orders":[],"symbols":["ETH-PERP"]}"#,
            Self.fill("f1", "BTC-PERP", order: "o1"),
            Self.fill("f2", "BTC-PERP", order: "o2"),
            #"{"type":"exchange_snapshot","ts_ms":1300,"open_orders":[{"order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"2","remaining":"1","price":"100"}]}"#,
            Self.fill("f3", "BTC-PERP", order: "o1"),
            #"{"type":"exchange_snapshot","ts_ms":1400,"open_orders":[]}"#,
        ]
        #expect(try history(.order("o1"), lines) == [
            "1 local open, filled 0 of 2", "3 local open, filled 1 of 2", "5 remote open, remaining 1 of 2",
            "6 local filled, filled 2 of 2", "7 remote not open",
        ])
        // The position moves with every fill of its symbol, whichever order.
        #expect(try history(.position("BTC-PERP"), lines).map { $0.prefix(8) } == ["3 local ", "4 local ", "6 local "])
        #expect(try history(.position("ETH-PERP"), lines).isEmpty, "no list of positions, no fill of ETH")
    }

    @Test func keysParseFromTheirText() {
        #expect(ProjectionKey("position:BTC-PERP") == .position("BTC-PERP"))
        #expect(ProjectionKey("order:a:b") == .order("a:b"))
        #expect(ProjectionKey("balance:USDT")?.description == "balance:USDT")
        for bad in ["position", "position:", "pos:BTC", ":x", ""] { #expect(ProjectionKey(bad) == nil, "\(bad)") }
    }
}
