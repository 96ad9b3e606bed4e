import Testing
@testable import ReconCore
@testable import ReconStore
import ReconTestSupport

/// `scanForFold` streams one account's events with their snapshot lists
/// undecoded and their `EventFacts` worked out; a fold of what it streams, given
/// those facts, must end exactly where a fold of every event without them does.
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
            try log.scanForFold(to: to) { folded.apply($0, facts: $1) }
            #expect(folded == (try foldAll(log, to: to)), "fold to \(to)")
        }
        // A range that starts later, as from a checkpoint, for one account.
        for from in [UInt64(1), 1_200, 2_999] {
            var start = AccountProjection(account: "bot1")
            try log.scan(to: from - 1) { if $0.event.account == "bot1" { start.apply($0.event, seq: $0.seq) }; return true }
            var viaFold = start
            try log.scanForFold(from: from, to: 3_000, account: "bot1") { viaFold.apply($0.event, seq: $0.seq, facts: $1) }
            var viaScan = start
            try log.scan(from: from, to: 3_000) { if $0.event.account == "bot1" { viaScan.apply($0.event, seq: $0.seq) }; return true }
            #expect(viaFold == viaScan, "bot1 from \(from)")
        }
    }

    /// Snapshot lists come from the log as their bytes, and a fold of them ends
    /// where a fold of the events as they were written does, whether or not a
    /// list is read before the next replaces it; one account's scan decodes
    /// only its own events.
    @Test func snapshotListsComeAsBytesAndFoldAsWritten() throws {
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
        let events = [
            snapshot(1, "a", positions: true, orders: true, balances: true),   // seq 1
            snapshot(2, "a", positions: true, scope: ["BTC-PERP"]),            // seq 2: scoped
            snapshot(3, "a", balances: true),                                   // seq 3: balances only
            snapshot(4, "b", positions: true, orders: true, balances: true),   // seq 4: another account
            snapshot(5, "a", positions: true, orders: true),                    // seq 5: positions and orders whole
        ]
        try append(events, to: log)
        for to in 1...5 {
            var folded = Projection()
            try log.scanForFold(to: UInt64(to)) { folded.apply($0, facts: $1) }
            var written = Projection()
            for (n, event) in events.prefix(to).enumerated() { written.apply(LoggedEvent(seq: UInt64(n + 1), ingestMs: 0, event: event)) }
            #expect(folded.accounts["a"]?.remote == written.accounts["a"]?.remote, "to \(to)")
            #expect(folded.accounts["b"]?.remote == written.accounts["b"]?.remote, "to \(to)")
        }
        var streamed: [LoggedEvent] = []
        try log.scanForFold(to: 5) { logged, _ in streamed.append(logged) }
        guard case .exchangeSnapshot(let first) = streamed[0].event.body, case .exchangeSnapshot(let last) = streamed[4].event.body else {
            Issue.record("snapshots expected")
            return
        }
        #expect(first.positionList?.isEncoded == true && first.openOrderList?.isEncoded == true)
        #expect(last.positions?.first?.qty == 5 && last.openOrders?.first?.orderId == "o5")
        var accountA: [UInt64] = []
        try log.scanForFold(to: 5, account: "a") { logged, _ in accountA.append(logged.seq) }
        #expect(accountA == [1, 2, 3, 5])
    }

    /// A damaged snapshot is reported with its seq, as by `scan`, though its
    /// lists would be decoded only if read.
    @Test func damageIsReportedWithItsSeq() throws {
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
        let error = #expect(throws: StoreError.self) { try log.scanForFold(to: 20) { _, _ in } }
        #expect(error?.seq == 12)
        var folded = 0
        try log.scanForFold(to: 11) { _, _ in folded += 1 }
        #expect(folded == 11)
    }
}
