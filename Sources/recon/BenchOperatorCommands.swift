import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct BenchWhatIfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "What-if over a generated log against one replay of it.",
        discussion: """
            Times `recon replay` (fold plus a run at every trigger point, one config; \
            the baseline) and `recon whatif` with a tighter position band (one fold, \
            two runs per trigger point) on the same log. Target: at most 2.5x.
            """
    )

    @Option(help: "Events in the generated log.")
    var events = 1_000_000

    @Option(help: "Scratch folder (deleted afterwards).")
    var scratch = "/tmp/recon-bench-whatif"

    func run() throws {
        defer { removeTree(scratch) }
        let (bench, _, _) = try BenchLog.make(events: events, accounts: 4, symbols: 50, seed: 7, faults: [], at: scratch)
        let tighter = try ReconConfig.parse(#"{"defaults":{"position_qty_ignore":"0.0001","position_qty_critical":"0.001"}}"#)
        var runs = 0
        var start = monotonicSeconds()
        _ = try bench.log.replay(config: .standard) { _ in runs += 1 }
        let replaySeconds = monotonicSeconds() - start
        start = monotonicSeconds()
        let diff = try WhatIfCommand.compare(log: bench.log, base: .standard, new: tighter, account: nil, from: 1, to: .max)
        let whatIfSeconds = monotonicSeconds() - start
        print("recon bench whatif: \(events) events, 4 accounts, \(runs) runs")
        print(String(format: "  recon replay (baseline)  %.3f s  %@", replaySeconds, rate(events, replaySeconds)))
        print(String(format: "  recon whatif             %.3f s  = %.2fx the replay (target <= 2.5x); %d differences",
                     whatIfSeconds, whatIfSeconds / replaySeconds, diff.entries.count))
    }
}

struct BenchMatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Closed-position matching: bot round trips against venue records.",
        discussion: """
            Matches N bot round trips against N venue records with jittered entry \
            times and prices, at N/10 and N, beside a plain sort of the N venue \
            records by entry time (the baseline). Quadratic matching would take 100x \
            longer at N than at N/10; this one should take about 10x. Target: at \
            least 1M matches/s at N = 100,000.
            """
    )

    @Option(help: "Round trips on each side.")
    var count = 100_000

    func run() throws {
        func books(_ n: Int) -> ([ClosedPosition], [ClosedPositionRecord]) {
            var rng = SeededRandom(seed: 7)
            var local: [ClosedPosition] = [], remote: [ClosedPositionRecord] = []
            local.reserveCapacity(n)
            remote.reserveCapacity(n)
            for i in 0..<n {
                let symbol = "S\(i % 50)", side: PositionSide = i % 3 == 0 ? .short : .long
                let t = 1_763_000_000_000 + Int64(i) * 997
                let price = ExactDecimal(significand: Int128(60_000_00 + Int(rng.next() % 1_000)), scale: 2)
                let jitter = Int64(rng.next() % 2_000) - 1_000
                local.append(ClosedPosition(symbol: symbol, side: side, qty: 1, entryTsMs: t, entryPrice: price, closePrice: price,
                                            closeTsMs: t + 60_000, realizedPnl: 0, commission: 0, netPnl: 0, openSeq: UInt64(i), closeSeq: UInt64(i), synthetic: false))
                remote.append(ClosedPositionRecord(positionId: "p\(n - i)", symbol: symbol, side: side, qty: 1, entryPrice: price, entryTsMs: t + jitter,
                                                   closePrice: price, closeTsMs: t + 60_000, realizedPnl: 0, commission: 0, netPnl: 0))
            }
            return (local, remote.reversed())
        }
        let window = ClosedPositionMatcher.Window(timeMs: 5_000, pricePct: "0.1")
        func time(_ n: Int) -> (Double, Int) {
            let (local, remote) = books(n)
            let start = monotonicSeconds()
            let result = ClosedPositionMatcher.match(local: local, remote: remote) { _ in window }
            return (monotonicSeconds() - start, result.pairs.count)
        }
        let (_, remote) = books(count)
        let start = monotonicSeconds()
        let sorted = remote.sorted { $0.entryTsMs < $1.entryTsMs }
        let sortSeconds = monotonicSeconds() - start
        precondition(sorted.count == count)
        let (small, _) = time(count / 10)
        let (seconds, matched) = time(count)
        print("recon bench match: \(count) bot round trips against \(count) venue records")
        print(String(format: "  sort of the venue records (baseline)  %.3f s", sortSeconds))
        print(String(format: "  match at N/10                          %.3f s", small))
        print(String(format: "  match at N                             %.3f s  %.0f matches/s, %.1fx the sort, %.1fx the N/10 time (quadratic: 100x)",
                     seconds, Double(matched) / seconds, seconds / sortSeconds, seconds / small))
        print("  matched \(matched) of \(count)")
    }
}
