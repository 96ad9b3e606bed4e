import Testing
import ReconCore
@testable import ReconStore

@Suite struct CheckpointStoreTests {
    func makeLog(_ dir: TempFolder, events: Int, accounts: Int) throws -> (EventLog, [Event]) {
        var options = GeneratorOptions()
        options.events = events
        options.accounts = accounts
        options.symbols = 4
        options.seed = 21
        options.faults = FaultKind.allCases.map { FaultRequest(kind: $0) }
        let all = SyntheticGenerator(options: options).all()
        let log = try EventLog(directory: dir.path)
        for start in stride(from: 0, to: all.count, by: 1_000) {
            let end = min(start + 1_000, all.count)
            _ = try log.append(all[start..<end].enumerated().map { AppendInput(event: $1, line: start + $0 + 1) })
        }
        return (log, all)
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
}
