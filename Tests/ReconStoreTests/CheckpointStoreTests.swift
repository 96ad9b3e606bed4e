import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

@Suite struct CheckpointStoreTests {
    /// A log of generated events; only the first `appended` of them are appended
    /// when given (the caller appends the rest).
    func makeLog(_ dir: TempFolder, events: Int, accounts: Int, appended: Int? = nil) throws -> (EventLog, [Event]) {
        var options = GeneratorOptions()
        options.events = events
        options.accounts = accounts
        options.symbols = 4
        options.seed = 21
        options.faults = FaultKind.allCases.map { FaultRequest(kind: $0) }
        let all = SyntheticGenerator(options: options).all()
        let log = try EventLog(directory: dir.path)
        try append(all[..<(appended ?? all.count)], to: log)
        return (log, all)
    }

    func append(_ events: ArraySlice<Event>, to log: EventLog) throws {
        for start in stride(from: events.startIndex, to: events.endIndex, by: 1_000) {
            let end = min(start + 1_000, events.endIndex)
            _ = try log.append(events[start..<end].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
        }
    }

    /// `state --at N` equals folding the first N events, with or without checkpoints.
    @Test func projectionAtAnySeqEqualsFoldingThePrefix() throws {
        let dir = TempFolder()
        let (log, all) = try makeLog(dir, events: 5_000, accounts: 3)
        let store = CheckpointStore(log: log, interval: 700)
        #expect(try store.catchUp() == 7)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<12 {
            let seq = UInt64(1 + rng.below(all.count))
            let account = "acct\(1 + rng.below(3))"
            var expected = AccountProjection(account: account)
            for (i, e) in all.prefix(Int(seq)).enumerated() where e.account == account { expected.apply(e, seq: UInt64(i + 1)) }
            let viaCheckpoints = try store.projection(account: account, at: seq)
            #expect(viaCheckpoints == expected, "account \(account) at \(seq)")
        }
        // Derived data: deleting the checkpoints changes no answer.
        let before = try store.projection(account: "acct2", at: 4_321)
        try store.deleteAll()
        #expect(try store.groupCount() == 0)
        #expect(try store.projection(account: "acct2", at: 4_321) == before)
    }

    /// Every account at once (`recon exposure`): the nearest group, then the
    /// events since, equals folding the prefix; before the first group too.
    @Test func everyAccountAtAnySeqEqualsFoldingThePrefix() throws {
        let dir = TempFolder()
        let (log, all) = try makeLog(dir, events: 5_000, accounts: 3)
        let store = CheckpointStore(log: log, interval: 700)
        #expect(try store.catchUp() == 7)
        var rng = SeededRandom(seed: 8)
        var seqs: [UInt64] = [0, 1, 699, 700, 701, 4_900, 5_000]
        for _ in 0..<8 { seqs.append(UInt64(1 + rng.below(all.count))) }
        for seq in seqs {
            let expected = Projection.fold(all.prefix(Int(seq)).enumerated().map {
                LoggedEvent(seq: UInt64($0.offset + 1), ingestMs: 0, event: $0.element)
            })
            #expect(try store.projection(at: seq) == expected, "at \(seq)")
        }
        #expect(try store.groupSeq(atOrBefore: 699) == 0)
        #expect(try store.groupSeq(atOrBefore: 1_400) == 1_400)
        #expect(try store.groupSeq(atOrBefore: 2_099) == 1_400)
        #expect(try store.groupSeq(atOrBefore: 9_999) == 4_900)
    }

    @Test func catchUpIsIncremental() throws {
        let dir = TempFolder()
        let (log, _) = try makeLog(dir, events: 3_000, accounts: 2)
        let store = CheckpointStore(log: log, interval: 1_000)
        #expect(try store.catchUp() == 3)
        #expect(try store.catchUp() == 0)
        #expect(try store.latestGroupSeq() == 3_000)
        // An account that first appears after a checkpoint starts empty there.
        _ = try log.append([AppendInput(event: Event(id: "late-1", account: "late", tsMs: 1, body: .transfer(Transfer(asset: "USDT", amount: 5, kind: .deposit))), line: 1)])
        let late = try store.projection(account: "late", at: 3_001)
        #expect(late.local.balances["USDT"]?.amount == 5)
        #expect(try store.projection(account: "late", at: 3_000).lastSeq == 0)
    }

    /// Settled fills go into the group where they settled and no other: the
    /// deltas add up to the whole set, so the table grows with the log rather
    /// than with the log times the number of groups.
    @Test func settledFillsAreStoredOnceInTheGroupWhereTheySettled() throws {
        let dir = TempFolder()
        let (log, all) = try makeLog(dir, events: 6_000, accounts: 2, appended: 3_000)
        #expect(try CheckpointStore(log: log, interval: 500).catchUp() == 6)
        // The rest later, checkpointed by another store (as by another process):
        // it picks up the deltas where the first left off.
        try append(all[3_000...], to: log)
        let store = CheckpointStore(log: log, interval: 500)
        #expect(try store.catchUp() == 6)
        var expected = AccountProjection(account: "acct1")
        for (i, e) in all.enumerated() where e.account == "acct1" { expected.apply(e, seq: UInt64(i + 1)) }
        let sizes = try store.settledDeltaSizes(account: "acct1")
        #expect(sizes.map(\.group) == (1...12).map { UInt64($0 * 500) })
        #expect(expected.local.settledFills.count > 100, "the log settles fills, so the test means something")
        #expect(sizes.map(\.fills).reduce(0, +) == expected.local.settledFills.count)
        #expect(sizes.allSatisfy { $0.fills <= 500 }, "a group stores at most what settled in its own interval")
        #expect(try store.projection(account: "acct1", at: 6_000) == expected)
    }

    /// The interval is the data folder's setting: every store without one of its
    /// own spaces new groups by it; groups already written stay where they are,
    /// and reads find groups wherever they are.
    @Test func theIntervalIsTheDataFoldersSetting() throws {
        let dir = TempFolder()
        let (log, all) = try makeLog(dir, events: 6_000, accounts: 2, appended: 3_000)
        #expect(try CheckpointStore(log: log).interval() == CheckpointStore.defaultInterval)
        try CheckpointStore(log: log).setInterval(700)
        // Another store (as another process would open): the setting holds.
        #expect(try CheckpointStore(log: log).interval() == 700)
        #expect(try CheckpointStore(log: log).catchUp() == 4)
        #expect(try CheckpointStore(log: log).latestGroupSeq() == 2_800)
        try CheckpointStore(log: log).setInterval(1_000)
        try append(all[3_000...], to: log)
        let store = CheckpointStore(log: log)
        #expect(try store.catchUp() == 3)
        #expect(try store.settledDeltaSizes(account: "acct1").map(\.group) == [700, 1_400, 2_100, 2_800, 3_800, 4_800, 5_800])
        for seq: UInt64 in [2_799, 3_000, 4_801, 6_000] {
            var expected = AccountProjection(account: "acct2")
            for (i, e) in all.prefix(Int(seq)).enumerated() where e.account == "acct2" { expected.apply(e, seq: UInt64(i + 1)) }
            #expect(try store.projection(account: "acct2", at: seq) == expected, "at \(seq)")
        }
        // Out of range: refused, the setting unchanged.
        for bad: UInt64 in [0, 99, 10_000_001] {
            #expect(throws: StoreError.self) { try store.setInterval(bad) }
        }
        #expect(try store.interval() == 1_000)
        // A given interval wins over the setting (tests, benchmarks).
        #expect(try CheckpointStore(log: log, interval: 250).interval() == 250)
        // A damaged setting says how to fix it; reads do not need it.
        try log.writeDerived(into: log.meta, [(CheckpointStore.intervalMetaKey, [1, 2, 3])])
        #expect { try store.interval() } throws: { "\($0)".contains("recon checkpoint --every") }
        #expect(try store.projection(account: "acct1", at: 6_000).lastSeq > 0)
    }

    /// Closing after closing: cancels of orders the bot never logged (each closes
    /// one at once) for two accounts, and every 50th event a late fill for an
    /// order of `bot1` closed about 30,000 events before, which changes an order
    /// of the older generation when it is still remembered; halfway between, one
    /// for an order closed 3,000 events before, mostly in the recent generation.
    func manyClosings(_ count: Int) -> [Event] {
        (0..<count).map { i in
            if i % 50 == 49 || (i % 50 == 24 && i > 3_001) {
                let age = i % 50 == 49 ? 30_001 : 3_001
                return Event(id: "f\(i)", account: "bot1", tsMs: Int64(i), body: .fill(FillRecord(
                    fillId: "fill-\(i)", orderId: "o\(i - age)", symbol: "BTC-PERP", side: .buy, qty: "0.1", price: "100",
                    fee: "0.01", feeAsset: "USDT", liquidity: .maker)))
            }
            return Event(id: "c\(i)", account: i % 10 == 5 ? "bot2" : "bot1", tsMs: Int64(i), body: .orderCanceled(OrderCanceled(orderId: "o\(i)")))
        }
    }

    /// `manyClosings(50_000)` in a log checkpointed every 5,000 events, and the
    /// projection of an account folded from the start up to a seq, to compare with.
    func manyClosingsCheckpointed(_ dir: TempFolder) throws -> (EventLog, CheckpointStore, (String, UInt64) -> AccountProjection) {
        let log = try EventLog(directory: dir.path)
        let all = manyClosings(50_000)
        try append(all[...], to: log)
        let store = CheckpointStore(log: log, interval: 5_000)
        #expect(try store.catchUp() == 10)
        return (log, store, { account, seq in
            var p = AccountProjection(account: account)
            for (i, e) in all.prefix(Int(seq)).enumerated() where e.account == account { p.apply(e, seq: UInt64(i + 1)) }
            return p
        })
    }

    /// An older generation of closed orders is stored once, in the first group
    /// after its rotation, and every later group until the next rotation reads it
    /// from there: reads at any seq equal folding the prefix. A generation that
    /// goes missing makes the groups that need it fall back to the log.
    @Test func olderClosedOrdersAreStoredOnce() throws {
        let dir = TempFolder()
        let (log, store, folded) = try manyClosingsCheckpointed(dir)
        // Which generation each group's projection has, from the fold itself.
        let rotationsAtGroups = (1...10).map { folded("bot1", UInt64($0 * 5_000)).local.closedOrders.rotations }
        #expect(rotationsAtGroups.last == 2, "the log rotates bot1's closed orders twice")
        var firstGroupOf: [Int: UInt64] = [:]
        for (i, r) in rotationsAtGroups.enumerated() where r > 0 && firstGroupOf[r] == nil { firstGroupOf[r] = UInt64((i + 1) * 5_000) }
        let stored = try store.closedOrderGenerations(account: "bot1")
        #expect(stored.map(\.rotations) == [1, 2])
        #expect(stored.map(\.group) == [firstGroupOf[1]!, firstGroupOf[2]!])
        #expect(try store.closedOrderGenerations(account: "bot2").isEmpty, "bot2 never fills a generation")

        // Late fills change orders of the first older generation from 30,001 on,
        // until the second rotation drops it.
        let older = folded("bot1", 44_999).local.closedOrders
        #expect(older.rotations == 1)
        #expect(older.generations.older == folded("bot1", firstGroupOf[1]!).local.closedOrders.generations.older,
                "the older generation stays as stored")
        #expect(folded("bot1", 44_999).local.closedOrders.generations.recent.contains { $0.order.filled > 0 && $0.order.closedSeq < 25_000 },
                "late fills for older orders are written to the recent generation")
        let seqs: [UInt64] = [4_999, firstGroupOf[1]!, firstGroupOf[1]! + 4_999, 36_789, 44_999, firstGroupOf[2]! - 1, 50_000]
        for seq in seqs {
            #expect(try store.projection(account: "bot1", at: seq) == folded("bot1", seq), "bot1 at \(seq)")
        }
        #expect(try store.projection(account: "bot2", at: 37_777) == folded("bot2", 37_777))
        #expect(try store.projection(at: 50_000).accounts["bot1"] == folded("bot1", 50_000))

        // The first generation goes: groups from its rotation to the next fall back.
        #expect(try log.removeDerived(log.checkpoints, key: CheckpointStore.key(seq: firstGroupOf[1]!, account: "bot1", apart: .olderClosedOrders)))
        #expect(try store.nearest(account: "bot1", atOrBefore: firstGroupOf[2]! - 1).seq == 0)
        #expect(try store.nearest(account: "bot1", atOrBefore: firstGroupOf[1]! - 1).seq == firstGroupOf[1]! - 5_000)
        #expect(try store.nearest(account: "bot1", atOrBefore: 50_000).seq == 50_000, "groups of the second generation are unaffected")
        for seq in [firstGroupOf[1]! + 10, 50_000] {
            #expect(try store.projection(account: "bot1", at: seq) == folded("bot1", seq), "bot1 at \(seq) after the loss")
        }
    }

    /// A group stores only the closed orders its account added since the group
    /// before, starting over at a rotation; reads rebuild the recent generation
    /// from them. One that goes missing makes the groups of its generation from
    /// there on fall back to the log; the others are unaffected.
    @Test func recentClosedOrdersAreStoredAsWhatEachGroupAdded() throws {
        let dir = TempFolder()
        let (log, store, folded) = try manyClosingsCheckpointed(dir)
        let atGroups = (1...10).map { folded("bot1", UInt64($0 * 5_000)).local.closedOrders }
        let deltas = try store.recentClosedOrderDeltas(account: "bot1")
        #expect(deltas.count == 10, "bot1 closes orders in every interval")
        for (i, (delta, closed)) in zip(deltas, atGroups).enumerated() {
            let before = i > 0 && atGroups[i - 1].rotations == closed.rotations ? atGroups[i - 1].recentEntries.count : 0
            #expect(delta.rotations == closed.rotations && delta.start == before, "group \(i + 1)")
            #expect(delta.start + delta.added == closed.recentEntries.count, "group \(i + 1)")
        }
        #expect(deltas.map(\.added).reduce(0, +) < 50_000, "each entry is stored once, not in every group")
        // The second generation's third group loses its delta: from there to the
        // next rotation, groups fall back to the log; before it and after, not.
        let secondStart = atGroups.firstIndex { $0.rotations == 1 }!
        let lost = UInt64((secondStart + 3) * 5_000)
        let nextRotation = UInt64((atGroups.firstIndex { $0.rotations == 2 }! + 1) * 5_000)
        #expect(atGroups[secondStart + 2].rotations == 1, "the group that loses its delta is still of the second generation")
        #expect(try log.removeDerived(log.checkpoints, key: CheckpointStore.key(seq: lost, account: "bot1", apart: .recentClosedOrders)))
        #expect(try store.nearest(account: "bot1", atOrBefore: lost - 1).seq == lost - 5_000)
        #expect(try store.nearest(account: "bot1", atOrBefore: lost).seq == 0)
        #expect(try store.nearest(account: "bot1", atOrBefore: nextRotation - 1).seq == 0)
        #expect(try store.nearest(account: "bot1", atOrBefore: nextRotation).seq == nextRotation)
        #expect(try store.nearest(account: "bot2", atOrBefore: lost).seq == lost, "the other account is unaffected")
        for seq in [lost - 1, lost, lost + 777, nextRotation, 50_000] {
            #expect(try store.projection(account: "bot1", at: seq) == folded("bot1", seq), "bot1 at \(seq)")
        }
    }

    /// Closed positions go into the group where they closed and no other, and
    /// reads put them back together; one group's that goes missing makes that
    /// account's groups from there on fall back to the log.
    @Test func closedPositionsAreStoredAsWhatEachGroupAdded() throws {
        let dir = TempFolder()
        let (log, all) = try makeLog(dir, events: 6_000, accounts: 2)
        let store = CheckpointStore(log: log, interval: 500)
        #expect(try store.catchUp() == 12)
        func folded(_ seq: UInt64) -> AccountProjection {
            var p = AccountProjection(account: "acct1")
            for (i, e) in all.prefix(Int(seq)).enumerated() where e.account == "acct1" { p.apply(e, seq: UInt64(i + 1)) }
            return p
        }
        let deltas = try store.closedPositionDeltas(account: "acct1")
        #expect(folded(6_000).local.closedPositions.count > 20, "the log closes positions, so the test means something")
        #expect(deltas.count > 5)
        #expect(deltas.map(\.start) == deltas.indices.map { i in deltas[..<i].reduce(0) { $0 + $1.added } }, "each starts where the one before ended")
        #expect(deltas.reduce(0) { $0 + $1.added } == folded(6_000).local.closedPositions.count)
        for seq: UInt64 in [500, 2_750, 6_000] {
            #expect(try store.projection(account: "acct1", at: seq) == folded(seq), "at \(seq)")
        }
        // A group from 3,000 on that stored some loses them.
        let closing = (1...12).map { UInt64($0 * 500) }.filter {
            folded($0).local.closedPositions.count > folded($0 - 500).local.closedPositions.count
        }
        #expect(closing.count == deltas.count, "a group stores closed positions when the account closed some since the one before")
        let lost = try #require(closing.first { $0 >= 3_000 && $0 < 6_000 })
        #expect(try log.removeDerived(log.checkpoints, key: CheckpointStore.key(seq: lost, account: "acct1", apart: .closedPositions)))
        #expect(try store.nearest(account: "acct1", atOrBefore: lost - 1).seq == lost - 500)
        #expect(try store.nearest(account: "acct1", atOrBefore: 6_000).seq == 0)
        #expect(try store.nearest(account: "acct2", atOrBefore: 6_000).seq == 6_000, "the other account is unaffected")
        #expect(try store.projection(account: "acct1", at: 6_000) == folded(6_000))
    }

    /// A settled-fills delta that is missing makes every later group of that
    /// account untrusted: answers fall back to the log and stay right.
    @Test func aMissingSettledDeltaFallsBackToTheLog() throws {
        let dir = TempFolder()
        let (log, all) = try makeLog(dir, events: 6_000, accounts: 2)
        let store = CheckpointStore(log: log, interval: 500)
        #expect(try store.catchUp() == 12)
        let removed = try log.removeDerived(log.checkpoints, key: CheckpointStore.key(seq: 2_500, account: "acct2", apart: .settledFills))
        #expect(removed)
        for seq: UInt64 in [2_400, 2_600, 5_999] {
            var expected = AccountProjection(account: "acct2")
            for (i, e) in all.prefix(Int(seq)).enumerated() where e.account == "acct2" { expected.apply(e, seq: UInt64(i + 1)) }
            #expect(try store.projection(account: "acct2", at: seq) == expected, "at \(seq)")
        }
        #expect(try store.nearest(account: "acct2", atOrBefore: 2_600).seq == 0, "the group at 2500 and later are not used")
        #expect(try store.nearest(account: "acct2", atOrBefore: 2_400).seq == 2_000)
        #expect(try store.nearest(account: "acct1", atOrBefore: 2_600).seq == 2_500, "the other account is unaffected")
    }

    /// Groups written by an earlier release are rewritten by the next catch-up,
    /// even when the log has not grown: otherwise every as-of read would replay
    /// the log from the start until enough new events arrived.
    @Test func groupsOfAnOlderLayoutAreRewrittenWhenNothingIsNew() throws {
        let dir = TempFolder()
        let (log, _) = try makeLog(dir, events: 2_000, accounts: 1)
        let store = CheckpointStore(log: log, interval: 1_000)
        #expect(try store.catchUp() == 2)
        #expect(try store.catchUp() == 0)
        // The newest group as an earlier layout would have left it.
        let key = CheckpointStore.key(seq: 2_000, account: "acct1")
        try log.writeDerived(into: log.checkpoints, [(key, [AccountProjection.checkpointVersion - 1, 0, 0])])
        #expect(try !store.groupHasCurrentLayout(2_000))
        #expect(try store.nearest(account: "acct1", atOrBefore: 2_000).seq == 0)
        #expect(try store.catchUp() == 2)
        #expect(try store.groupHasCurrentLayout(2_000))
        #expect(try store.nearest(account: "acct1", atOrBefore: 2_000).seq == 2_000)
    }
}
