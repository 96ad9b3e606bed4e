import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

/// Records decoded on another thread reach the caller as a read inside one
/// transaction gives them: every record, in order, with its chain; nothing
/// after a stop; a damaged record's error after every record before it; and
/// no read transaction left open on any way out.
@Suite struct EventsDecodedAheadTests {
    static let count = 3_000

    func makeLog(_ dir: TempFolder, damageAt marker: String? = nil) throws -> EventLog {
        do {
            let log = try EventLog(directory: dir.path)
            var events = RandomEvents.sample(seed: 21, count: Self.count)
            if let marker {
                events[1_499] = Event(id: "needle", account: "bot1", tsMs: 1, body: .reconRequested(ReconRequested(requestedBy: marker)))
            }
            for start in stride(from: 0, to: events.count, by: 700) {
                let end = min(start + 700, events.count)
                _ = try log.append(events[start..<end].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
            }
        }
        if let marker { try dir.damageLogFile(at: marker) }
        return try EventLog(directory: dir.path)
    }

    /// The same range read inside one transaction on this thread.
    func readInPlace(_ log: EventLog, from: UInt64, to: UInt64) throws -> [(LoggedEvent, UInt64)] {
        try log.read { reader in
            var out: [(LoggedEvent, UInt64)] = []
            try reader.scan(from: from, to: to) { out.append(($0, try reader.chainHash(at: $0.seq))); return true }
            return out
        }
    }

    /// Both ways: decoded on a thread of its own, and in turn on the caller's.
    static let ways = [false, true]

    @Test(arguments: [(1, UInt64.max), (1, 512), (700, 2_345), (2_999, 3_000), (5, 4)] as [(UInt64, UInt64)], ways)
    func handsEveryRecordInOrder(range: (from: UInt64, to: UInt64), onThisThread: Bool) throws {
        let (from, to) = range
        let dir = TempFolder()
        let log = try makeLog(dir)
        let expected = try readInPlace(log, from: from, to: to)
        var seen: [EventsDecodedAhead.Record] = []
        try EventsDecodedAhead.scan(log, .init(from: from, to: to, account: nil), onThisThread: onThisThread) { seen.append($0); return true }
        #expect(seen.count == expected.count)
        #expect(seen.map(\.seq) == expected.map(\.0.seq))
        #expect(seen.filter(\.isDecoded).map(\.event) == expected.map(\.0))
        #expect(seen.map(\.chain) == expected.map(\.1))
        // One account: the others' records come undecoded, with their chain.
        var mine: [EventsDecodedAhead.Record] = []
        try EventsDecodedAhead.scan(log, .init(from: from, to: to, account: Array("bot1".utf8)), onThisThread: onThisThread) { mine.append($0); return true }
        #expect(mine.map(\.seq) == expected.map(\.0.seq))
        #expect(mine.map(\.chain) == expected.map(\.1))
        #expect(mine.filter(\.isDecoded).map(\.event) == expected.map(\.0).filter { $0.event.account == "bot1" })
        #expect(log.env.readerSlotsInUse() == 0)
    }

    /// A chunk once read is emptied and filled again: a scan of many chunks
    /// holds a few (those queued, the one read, the one filled), and every
    /// record still arrives as a read in place gives it, none stale.
    @Test(arguments: ways)
    func readChunksAreFilledAgain(onThisThread: Bool) throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        let events = RandomEvents.sample(seed: 22, count: 12_000)
        for start in stride(from: 0, to: events.count, by: 2_000) {
            _ = try log.append(events[start..<(start + 2_000)].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
        }
        let expected = try readInPlace(log, from: 1, to: .max)
        var seen: [LoggedEvent] = []
        let made = try EventsDecodedAhead.scan(log, .init(from: 1, to: .max, account: nil), onThisThread: onThisThread) {
            seen.append($0.event)
            return true
        }
        #expect(seen == expected.map(\.0))
        #expect(events.count / EventsDecodedAhead.chunkSize > EventsDecodedAhead.chunksAhead + 2)
        #expect(made >= 1 && made <= EventsDecodedAhead.chunksAhead + 2)
        // One account: refilled chunks mix decoded records with undecoded ones,
        // which hold the placeholder (copied in as bytes), never a stale event.
        var mine: [EventsDecodedAhead.Record] = []
        try EventsDecodedAhead.scan(log, .init(from: 1, to: .max, account: Array("bot1".utf8)), onThisThread: onThisThread) {
            mine.append($0)
            return true
        }
        #expect(mine.filter(\.isDecoded).map(\.event) == expected.map(\.0).filter { $0.event.account == "bot1" })
        #expect(mine.contains(where: \.isDecoded) && mine.contains { !$0.isDecoded })
        #expect(mine.filter { !$0.isDecoded }.allSatisfy { $0.event == EventsDecodedAhead.Record.notDecoded })
        #expect(log.env.readerSlotsInUse() == 0)
    }

    @Test(arguments: ways)
    func stopsWhereTheCallerStops(onThisThread: Bool) throws {
        let dir = TempFolder()
        let log = try makeLog(dir)
        var taken = 0
        try EventsDecodedAhead.scan(log, .init(from: 1, to: .max, account: nil), onThisThread: onThisThread) { _ in
            taken += 1
            return taken < 1_000
        }
        #expect(taken == 1_000)
        #expect(log.env.readerSlotsInUse() == 0)

        struct Enough: Error {}
        taken = 0
        #expect(throws: Enough.self) {
            try EventsDecodedAhead.scan(log, .init(from: 1, to: .max, account: nil), onThisThread: onThisThread) { _ in
                taken += 1
                if taken == 2_100 { throw Enough() }
                return true
            }
        }
        #expect(taken == 2_100)
        #expect(log.env.readerSlotsInUse() == 0)
        // The log reads on as before.
        #expect(try readInPlace(log, from: 1, to: .max).count == Self.count)
    }

    @Test(arguments: ways)
    func aDamagedRecordFailsAfterEveryRecordBeforeIt(onThisThread: Bool) throws {
        let dir = TempFolder()
        let log = try makeLog(dir, damageAt: "MARKER-AHEAD")
        var seqs: [UInt64] = []
        do {
            try EventsDecodedAhead.scan(log, .init(from: 1, to: .max, account: nil), onThisThread: onThisThread) { seqs.append($0.seq); return true }
            Issue.record("a damaged record was read")
        } catch let error as StoreError {
            #expect(error.seq == 1_500)
        }
        #expect(seqs == Array(1...1_499))
        #expect(log.env.readerSlotsInUse() == 0)
    }
}
