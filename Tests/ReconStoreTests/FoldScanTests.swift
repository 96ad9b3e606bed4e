import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

/// `scanForFold` steps over snapshot lists that a later list replaces whole; a
/// fold of what it streams must end exactly where a fold of every event does.
@Suite struct FoldScanTests {
    func append(_ events: [Event], to log: EventLog) throws {
        for start in stride(from: 0, to: events.count, by: 500) {
            let end = min(start + 500, events.count)
            _ = try log.append(events[start..<end].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
        }
    }

    func foldAll(_ log: EventLog, from: UInt64 = 1, to: UInt64) throws -> Projection {
        var projection = Projection()
        try log.scan(from: from, to: to) { projection.apply($0); return true }
        return projection
    }

    /// Random streams of every event type (scoped and unscoped snapshots, lists
    /// present and absent, two accounts): any prefix and any range folds alike.
    @Test(arguments: [11, 12] as [UInt64])
    func foldsEndWhereEveryEventDoes(seed: UInt64) throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        let events = RandomEvents.sample(seed: seed, count: 3_000)
        try append(events, to: log)
        var rng = SeededRandom(seed: seed)
        var ends: [UInt64] = [3_000, 1]
        for _ in 0..<6 { ends.append(UInt64(1 + rng.below(3_000))) }
        for to in ends {
            var folded = Projection()
            let skipped = try log.scanForFold(to: to) { folded.apply($0) }
            #expect(folded == (try foldAll(log, to: to)), "fold to \(to)")
            if to == 3_000 { #expect(skipped > 100, "the stream has lists to step over: \(skipped)") }
        }
        // A range that starts later, as from a checkpoint, for one account.
        for from in [UInt64(1), 1_200, 2_999] {
            var start = AccountProjection(account: "bot1")
            try log.scan(to: from - 1) { if $0.event.account == "bot1" { start.apply($0.event, seq: $0.seq) }; return true }
            var viaFold = start
            try log.scanForFold(from: from, to: 3_000, account: "bot1") { viaFold.apply($0.event, seq: $0.seq) }
            var viaScan = start
            try log.scan(from: from, to: 3_000) { if $0.event.account == "bot1" { viaScan.apply($0.event, seq: $0.seq) }; return true }
            #expect(viaFold == viaScan, "bot1 from \(from)")
        }
    }

    /// Which lists go: only those a later whole list of the same section and
    /// account replaces within the range; a scoped list replaces nothing whole.
    @Test func onlyListsReplacedLaterInTheRangeAreSkipped() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        func snapshot(_ n: Int, _ account: String, positions: Bool = false, orders: Bool = false, balances: Bool = false,
                      scope: [String]? = nil) -> Event {
            let position = RemotePosition(symbol: "BTC-PERP", qty: ExactDecimal(n), entryPrice: 100)
            let order = RemoteOrder(orderId: "o\(n)", symbol: "BTC-PERP", side: .buy, qty: 1, remaining: 1, price: 99)
            let balance = RemoteBalance(asset: "USDT", total: ExactDecimal(1_000 + n))
            return Event(id: "s\(n)", account: account, tsMs: Int64(1_000 * n), body: .exchangeSnapshot(ExchangeSnapshot(
                positions: positions ? [position] : nil, openOrders: orders ? [order] : nil,
                balances: balances ? [balance] : nil, symbols: scope)))
        }
        try append([
            snapshot(1, "a", positions: true, orders: true, balances: true),   // seq 1
            snapshot(2, "a", positions: true, scope: ["BTC-PERP"]),            // seq 2: scoped
            snapshot(3, "a", balances: true),                                   // seq 3: balances whole
            snapshot(4, "b", positions: true, orders: true, balances: true),   // seq 4: another account
            snapshot(5, "a", positions: true, orders: true),                    // seq 5: positions and orders whole
        ], to: log)
        let cases: [(to: UInt64, skipped: Int)] = [
            (2, 0),  // a scoped list replaces nothing whole
            (3, 1),  // seq 1's balances
            (4, 1),  // b's lists replace none of a's
            (5, 4),  // seq 1's positions, orders and balances; seq 2's scoped positions
        ]
        for c in cases {
            var folded = Projection()
            let skipped = try log.scanForFold(to: c.to) { folded.apply($0) }
            #expect(skipped == c.skipped, "to \(c.to)")
            #expect(folded == (try foldAll(log, to: c.to)), "to \(c.to)")
        }
        var streamed: [LoggedEvent] = []
        try log.scanForFold(to: 5) { streamed.append($0) }
        guard case .exchangeSnapshot(let first) = streamed[0].event.body, case .exchangeSnapshot(let last) = streamed[4].event.body else {
            Issue.record("snapshots expected")
            return
        }
        #expect(first.positions == nil && first.openOrders == nil && first.balances == nil)
        #expect(last.positions?.count == 1 && last.openOrders?.count == 1)
        // One account's fold plans with its own snapshots only.
        #expect(try log.scanForFold(to: 5, account: "b") { _ in } == 0)
        #expect(try log.scanForFold(to: 5, account: "a") { _ in } == 4)
    }

    /// A damaged snapshot is still reported with its seq, as by `scan`, though
    /// the planning pass reads it before anything is decoded.
    @Test func damageIsReportedNotPlannedAround() throws {
        let dir = TempFolder()
        func snapshot(_ n: Int, _ symbol: String) -> Event {
            Event(id: "s\(n)", account: "bot1", tsMs: Int64(n), body: .exchangeSnapshot(ExchangeSnapshot(
                positions: [RemotePosition(symbol: symbol, qty: 1, entryPrice: 100)])))
        }
        do {
            let log = try EventLog(directory: dir.path)
            try append((1...20).map { snapshot($0, $0 == 12 ? "MARKER-XYZ" : "BTC-PERP") }, to: log)
        }
        try dir.damageLogFile(at: "MARKER-XYZ")
        let log = try EventLog(directory: dir.path)
        // Replaced later, seq 12's list is planned to be stepped over; its record is still checked.
        let error = #expect(throws: StoreError.self) { try log.scanForFold(to: 20) { _ in } }
        #expect(error?.seq == 12)
        #expect(try log.scanForFold(to: 11) { _ in } == 10)
    }
}
