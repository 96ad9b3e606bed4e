import Testing
@testable import ReconCore

/// The incrementally kept aligned view equals folding, in seq order, exactly the
/// account's local events with `ts_ms` ≤ the latest snapshot + clock skew.
@Suite struct AlignedViewTests {
    static func naive(_ events: [LoggedEvent], account: String, cutoff: Int64) -> LocalProjection {
        var local = LocalProjection()
        for e in events where e.event.account == account && !e.event.type.isRemote && e.event.tsMs <= cutoff {
            local.apply(e.event, seq: e.seq)
        }
        return local
    }

    func check(_ events: [Event], label: String) {
        var runner = ReplayRunner(config: .standard)
        var seen: [LoggedEvent] = []
        var compared = 0
        for (i, event) in events.enumerated() {
            let logged = LoggedEvent(seq: UInt64(i + 1), ingestMs: 0, event: event)
            seen.append(logged)
            _ = runner.apply(logged, runTriggers: false)
            // Compare at every remote event (where runs happen) and now and then elsewhere.
            guard event.type.isRemote || i % 97 == 0 else { continue }
            let account = event.account
            guard let snapshotMs = runner.projection.accounts[account]?.remote.latestSnapshotMs else { continue }
            let (aligned, exact) = runner.alignedLocal(account: account)
            #expect(exact, "\(label) at \(i + 1)")
            #expect(aligned == Self.naive(seen, account: account, cutoff: snapshotMs + 1_000), "\(label) at seq \(i + 1)")
            compared += 1
        }
        #expect(compared > 10, "\(label): compared \(compared) points")
    }

    @Test func generatedSessionsWithLateAndRacingEvents() {
        for seed in [UInt64(1), 7, 42] {
            var options = GeneratorOptions()
            options.events = 1_500
            options.seed = seed
            options.accounts = 2
            options.faults = [FaultRequest(kind: .snapshotRace), FaultRequest(kind: .missedFill), FaultRequest(kind: .lostOrder)]
            let generator = SyntheticGenerator(options: options)
            var events: [Event] = []
            while let e = generator.next() { events.append(e) }
            check(events, label: "seed \(seed)")
        }
    }

    /// Random times in random order: late events, early events, snapshots out of time order.
    @Test func randomTimesInAnyOrder() {
        for seed in [UInt64(3), 11] {
            var rng = SeededRandom(seed: seed)
            let events = RandomEvents.sample(seed: seed, count: 400).map { e -> Event in
                var e = e
                e.account = rng.chance(70) ? "a" : "b"
                e.tsMs = Int64(rng.below(200_000))
                return e
            }
            check(events, label: "random seed \(seed)")
        }
    }
}
