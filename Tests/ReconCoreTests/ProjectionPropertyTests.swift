import Testing
@testable import ReconCore

@Suite struct ProjectionPropertyTests {
    func generated(seed: UInt64, events: Int, accounts: Int = 2, faults: [FaultKind] = []) -> [LoggedEvent] {
        var options = GeneratorOptions()
        options.events = events
        options.seed = seed
        options.accounts = accounts
        options.symbols = 5
        options.faults = faults.map { FaultRequest(kind: $0) }
        return SyntheticGenerator(options: options).all().enumerated().map { LoggedEvent(seq: UInt64($0 + 1), ingestMs: 0, event: $1) }
    }

    /// Replay from a checkpoint (encoded, decoded, then folded on) equals replay
    /// from the start, at many cut points.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func replayFromCheckpointEqualsReplayFromStart(seed: UInt64) throws {
        let events = generated(seed: seed, events: 3_000, faults: FaultKind.allCases)
        let full = Projection.fold(events)
        var rng = SeededRandom(seed: seed)
        for _ in 0..<8 {
            let cut = rng.below(events.count)
            let prefix = Projection.fold(events[0..<cut])
            var resumed = Projection()
            resumed.lastSeq = prefix.lastSeq
            for (name, account) in prefix.accounts {
                let bytes = account.encoded()
                resumed.accounts[name] = try bytes.withUnsafeBytes { try AccountProjection.decode($0) }
                #expect(resumed.accounts[name] == account)
            }
            for e in events[cut...] { resumed.apply(e) }
            #expect(resumed == full)
        }
    }

    /// Encoding is deterministic: the same projection, the same bytes.
    @Test func checkpointBytesAreDeterministic() {
        let events = generated(seed: 4, events: 2_000)
        let a = Projection.fold(events), b = Projection.fold(events)
        for name in a.accounts.keys {
            #expect(a.accounts[name]!.encoded() == b.accounts[name]!.encoded())
        }
    }

    /// A perp position's quantity is the signed sum of its distinct fills.
    @Test func positionQuantityIsTheSignedSumOfFills() {
        let events = generated(seed: 5, events: 5_000, faults: [.duplicateFill])
        let projection = Projection.fold(events)
        var sums: [String: ExactDecimal] = [:]
        var seen = Set<String>()
        for e in events {
            guard case .fill(let f) = e.event.body, seen.insert("\(e.event.account)/\(f.fillId)").inserted else { continue }
            sums["\(e.event.account)/\(f.symbol)", default: 0] += f.side == .buy ? f.qty : -f.qty
        }
        for (name, account) in projection.accounts {
            for (symbol, p) in account.local.positions {
                #expect(p.position.qty == sums["\(name)/\(symbol)"] ?? 0, "\(name) \(symbol)")
            }
        }
    }

    /// Without faults, the bot's view equals the venue's at every snapshot.
    @Test func faultFreeSessionAgreesWithTheVenueAtEverySnapshot() {
        let events = generated(seed: 6, events: 6_000, accounts: 3)
        var projection = Projection()
        var snapshots = 0
        for e in events {
            projection.apply(e)
            guard case .exchangeSnapshot = e.event.body else { continue }
            snapshots += 1
            let a = projection.accounts[e.event.account]!
            for (symbol, entry) in a.remote.positions.items {
                #expect(a.local.positions[symbol]?.position.qty == entry.item.qty, "seq \(e.seq) \(symbol)")
            }
            for (symbol, p) in a.local.positions where !p.position.isFlat {
                #expect(a.remote.positions.items[symbol.string] != nil, "seq \(e.seq) \(symbol) missing remotely")
            }
            #expect(Set(a.local.openOrders.keys.map(\.string)) == Set(a.remote.openOrders.items.keys), "seq \(e.seq)")
            for (id, entry) in a.remote.openOrders.items {
                #expect(a.local.openOrders[id]?.remaining == entry.item.remaining)
            }
            #expect(a.local.balances["USDT"]?.amount == a.remote.balances?["USDT"]?.total, "seq \(e.seq)")
            #expect(a.fillIssues.isEmpty, "seq \(e.seq) \(a.fillIssues)")
        }
        #expect(snapshots > 100)
        for account in projection.accounts.values {
            #expect(account.checkInvariants().isEmpty, "\(account.checkInvariants())")
            #expect(account.remote.fills.isEmpty, "venue records of settled fills are not kept")
        }
    }

    /// Events find their account the same way whether the projection compares the
    /// names in turn (a few accounts) or hashes them (more): each account equals
    /// its events folded alone.
    @Test(arguments: [3, Projection.accountsComparedInTurn + 3])
    func eachAccountEqualsItsEventsFoldedAlone(accounts: Int) {
        let events = generated(seed: 8, events: 1_500, accounts: accounts, faults: [.missedFill, .duplicateFill])
        let projection = Projection.fold(events)
        #expect(projection.accounts.count == accounts)
        for (name, folded) in projection.accounts {
            var alone = AccountProjection(account: name)
            for e in events where e.event.account == name { alone.apply(e.event, seq: e.seq) }
            #expect(folded == alone, "\(name)")
        }
    }

    /// No event order the contract allows crashes a reducer: random events of
    /// every type in random order, with invariants checked all along.
    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func randomStreamsNeverBreakInvariants(seed: UInt64) {
        var projection = Projection()
        for (i, e) in RandomEvents.sample(seed: seed, count: 3_000).enumerated() {
            projection.apply(e, seq: UInt64(i + 1))
        }
        for account in projection.accounts.values {
            #expect(account.checkInvariants().isEmpty, "\(account.checkInvariants())")
        }
    }
}
