import ArgumentParser
import Foundation
import ReconCore
import ReconStore

/// Shared by the projection benchmarks: a generated log in a scratch folder.
struct BenchLog {
    let log: EventLog
    let events: Int
    let accounts: [String]

    static func make(events: Int, accounts: Int, symbols: Int, seed: UInt64, faults: [FaultRequest], at path: String) throws -> (BenchLog, [InjectedFault], Double) {
        removeTree(path)
        var options = EventLogOptions()
        options.durable = false
        let log = try EventLog(directory: path, options: options)
        var generatorOptions = GeneratorOptions()
        generatorOptions.events = events
        generatorOptions.seed = seed
        generatorOptions.accounts = accounts
        generatorOptions.symbols = symbols
        generatorOptions.faults = faults
        let generator = SyntheticGenerator(options: generatorOptions)
        let start = monotonicSeconds()
        var batch: [AppendInput] = []
        batch.reserveCapacity(10_000)
        var line = 0
        while let event = generator.next() {
            line += 1
            batch.append(AppendInput(event: event, line: line))
            if batch.count == 10_000 {
                _ = try log.append(batch)
                batch.removeAll(keepingCapacity: true)
                Console.progress("generate+append", UInt64(line), UInt64(events))
            }
        }
        if !batch.isEmpty { _ = try log.append(batch) }
        return (BenchLog(log: log, events: events, accounts: generatorOptions.accountNames), generator.faults, monotonicSeconds() - start)
    }

    /// Decode every record and fold it through both reducers (no runs), with
    /// the CPU time of the folding thread (this one) and of the others (decoding).
    func fullReplay() throws -> (seconds: Double, projection: Projection, foldCPU: Double, decodeCPU: Double) {
        var projection = Projection()
        let cpu = CPUTimes.now()
        let start = monotonicSeconds()
        // The fold's own read, as `recon state` makes it: each event with the
        // facts its decoding thread worked out (`EventFacts`).
        try log.scanForFold { projection.apply($0, facts: $1) }
        let seconds = monotonicSeconds() - start
        let (fold, others) = CPUTimes.now().since(cpu)
        return (seconds, projection, fold, others)
    }

    /// Decode every record, fold nothing: what the codec costs.
    func decodeOnly() throws -> Double {
        var count = 0
        let start = monotonicSeconds()
        try log.scan { _ in count += 1; return true }
        return monotonicSeconds() - start
    }
}

/// Of `runs` runs of `measure`, the one whose `seconds` is least: on a shared
/// machine noise only ever adds time, so the fastest run is the nearest to what
/// the code costs.
func fastestRun<R>(of runs: Int, _ measure: () throws -> R, seconds: (R) -> Double) rethrows -> R {
    var best = try measure()
    for _ in 1..<max(runs, 1) {
        let again = try measure()
        if seconds(again) < seconds(best) { best = again }
    }
    return best
}

func rate(_ count: Int, _ seconds: Double) -> String {
    String(format: "%.0f/s", Double(count) / seconds)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

struct BenchReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Full replay and as-of reads against a raw LMDB cursor scan.",
        discussion: """
            On a generated log (≈60% order events, ≈30% fills, ≈10% venue data): the \
            raw cursor scan (baseline), decoding alone, a full fold through both \
            reducers (with the CPU time of the folding and the decoding threads: the \
            busier one bounds it), checkpoint writing, and `state --at` at random \
            points (median and p99), which must not read the whole log. The scan, \
            decoding and replay figures are each the best of --repeat runs, so that \
            their ratios compare what the code costs rather than what else the \
            machine was doing.
            """,
        aliases: ["asof"]
    )

    @Option(help: "Events in the generated log.")
    var events = 1_000_000

    @Option(help: "Symbols.")
    var symbols = 50

    @Option(help: "Accounts.")
    var accounts = 1

    @Option(help: "As-of reads at random points.")
    var points = 1_000

    @Option(help: ArgumentHelp("Events between checkpoints (as `recon checkpoint --every`).", valueName: "N"))
    var checkpointEvery = CheckpointStore.defaultInterval

    @Option(help: "Scratch folder (deleted afterwards).")
    var scratch = "/tmp/recon-bench-replay"

    @Option(help: "Runs of the scan, decoding and replay; each figure is the fastest.")
    var `repeat` = 3

    func run() throws {
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1") }
        guard CheckpointStore.intervalRange.contains(checkpointEvery) else {
            throw ValidationError("--checkpoint-every must be \(CheckpointStore.intervalRange.lowerBound)...\(CheckpointStore.intervalRange.upperBound)")
        }
        defer { removeTree(scratch) }
        let (bench, _, buildSeconds) = try BenchLog.make(events: events, accounts: accounts, symbols: symbols, seed: 7, faults: [], at: scratch)
        print("recon bench replay: \(events) events, \(accounts) account(s), \(symbols) symbols (log built in \(String(format: "%.1f", buildSeconds)) s)")
        let raw = try fastestRun(of: `repeat`, { try RawLMDBBaseline.scan(bench.log) }, seconds: \.seconds)
        print(String(format: "  raw LMDB cursor scan (baseline)  %8.3f s  %12@", raw.seconds, rate(raw.records, raw.seconds)))
        let decode = try fastestRun(of: `repeat`, bench.decodeOnly, seconds: { $0 })
        print(String(format: "  decode only                      %8.3f s  %12@  %.2fx baseline", decode, rate(events, decode), raw.seconds / decode))
        let (replaySeconds, projection, foldCPU, decodeCPU) = try fastestRun(of: `repeat`, bench.fullReplay, seconds: \.seconds)
        print(String(format: "  full replay (both reducers)      %8.3f s  %12@  %.2fx baseline", replaySeconds, rate(events, replaySeconds), raw.seconds / replaySeconds))
        // The two threads overlap, so the busier one bounds the replay; at 2M
        // events/s each would have half a second per million events.
        print(String(format: "    CPU: folding thread %.3f s, other threads (decoding) %.3f s; bound by the %@ at %.0f ns/event",
                     foldCPU, decodeCPU, foldCPU >= decodeCPU ? "fold" : "decoding", max(foldCPU, decodeCPU) / Double(events) * 1e9))
        let store = CheckpointStore(log: bench.log, interval: checkpointEvery)
        let checkpointStart = monotonicSeconds()
        let groups = try store.catchUp()
        let checkpointSeconds = monotonicSeconds() - checkpointStart
        let checkpointBytes = try store.storageBytes()
        print(String(format: "  checkpoints: %d groups every %d events in %.3f s, %.1f MB", groups, Int(checkpointEvery), checkpointSeconds,
                     Double(checkpointBytes) / 1e6))

        var rng = SeededRandom(seed: 99)
        var samples: [Double] = []
        var folded = 0
        for _ in 0..<points {
            let seq = UInt64(1 + rng.below(events))
            let account = bench.accounts[rng.below(bench.accounts.count)]
            let start = monotonicSeconds()
            let p = try store.projection(account: account, at: seq)
            samples.append(monotonicSeconds() - start)
            folded += Int(seq - (seq / checkpointEvery) * checkpointEvery)
            precondition(p.lastSeq <= seq)
        }
        let median = percentile(samples, 0.5), p99 = percentile(samples, 0.99)
        print(String(format: "  state --at, %d random points: median %.2f ms, p99 %.2f ms, mean events folded %d",
                     points, median * 1000, p99 * 1000, folded / points))
        print(String(format: "  as-of median / full replay = 1/%.0f", replaySeconds / median))
        // One value's history reads the account's events from the start, by design.
        let key = ProjectionKey.position("SYM0-PERP")
        let historyStart = monotonicSeconds()
        let (history, _) = try bench.log.history(of: key, account: bench.accounts[0], to: UInt64(events))
        let historySeconds = monotonicSeconds() - historyStart
        print(String(format: "  state --key %@ (whole log): %.3f s, %d changes, %.2fx a full replay",
                     key.description, historySeconds, history.changes.count, historySeconds / replaySeconds))
        let final = projection.accounts.values.map { $0.local.openOrders.count }.reduce(0, +)
        print("  (end state: \(final) open orders, \(projection.accounts.values.map { $0.local.positions.count }.reduce(0, +)) positions)")
    }
}

struct BenchReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "One reconcile of a large account against replaying what built it.",
        discussion: """
            Builds an account with --symbols positions and --orders open orders (plus \
            a matching venue snapshot with one difference per hundred symbols), appends \
            the events to a log in a scratch folder, and times replaying them from the \
            log (the baseline: reading, decoding and folding, as `recon state` does), \
            folding them from memory (a stricter baseline: the reducers alone), and \
            one reconcile of the result.
            """
    )

    @Option(help: "Scratch folder (deleted afterwards).")
    var scratch = "/tmp/recon-bench-reconcile"

    @Option(help: "Symbols with a position.")
    var symbols = 10_000

    @Option(help: "Open orders.")
    var orders = 100_000

    func run() throws {
        var events: [Event] = []
        var positions: [RemotePosition] = []
        var openOrders: [RemoteOrder] = []
        var n = 0
        func add(_ body: EventBody, ts: Int64 = 1_000) {
            n += 1
            events.append(Event(id: "e\(n)", account: "big", tsMs: ts, body: body))
        }
        for k in 0..<symbols {
            let symbol = "S\(k)-PERP"
            let price = ExactDecimal(100 + k % 500)
            add(.orderSubmitted(OrderSubmitted(orderId: "p\(k)", symbol: symbol, side: .buy, qty: 1, price: price, orderType: .limit)))
            add(.fill(FillRecord(fillId: "f\(k)", orderId: "p\(k)", symbol: symbol, side: .buy, qty: 1, price: price, fee: 0, feeAsset: "USDT", liquidity: .maker)))
            positions.append(RemotePosition(symbol: symbol, qty: k % 100 == 0 ? "1.5" : 1, entryPrice: price))
        }
        for i in 0..<orders {
            let symbol = "S\(i % symbols)-PERP"
            add(.orderSubmitted(OrderSubmitted(orderId: "o\(i)", symbol: symbol, side: .sell, qty: 2, price: 1_000, orderType: .limit)))
            openOrders.append(RemoteOrder(orderId: "o\(i)", symbol: symbol, side: .sell, qty: 2, remaining: 2, price: 1_000))
        }
        add(.exchangeSnapshot(ExchangeSnapshot(positions: positions, openOrders: openOrders, balances: [RemoteBalance(asset: "USDT", total: 0)])), ts: 2_000)
        let logged = events.enumerated().map { LoggedEvent(seq: UInt64($0 + 1), ingestMs: 0, event: $1) }

        removeTree(scratch)
        defer { removeTree(scratch) }
        var options = EventLogOptions()
        options.durable = false
        let log = try EventLog(directory: scratch, options: options)
        _ = try log.appendInBatches(events.enumerated().map { AppendInput(event: $1, line: $0 + 1) }, batchSize: 10_000)
        // Each figure is the best of 5, as the reconcile's is: the same defence
        // against a noisy machine on both sides of the ratio.
        var replaySeconds = Double.infinity, foldSeconds = Double.infinity
        var projection = AccountProjection(account: "big")
        for _ in 0..<5 {
            let replayStart = monotonicSeconds()
            var replayed = AccountProjection(account: "big")
            try log.scan { replayed.apply($0.event, seq: $0.seq); return true }
            replaySeconds = min(replaySeconds, monotonicSeconds() - replayStart)

            let foldStart = monotonicSeconds()
            projection = AccountProjection(account: "big")
            for e in logged { projection.apply(e.event, seq: e.seq) }
            foldSeconds = min(foldSeconds, monotonicSeconds() - foldStart)
            precondition(replayed.local.openOrders.count == projection.local.openOrders.count)
        }

        let point = RunPoint(account: "big", atSeq: UInt64(logged.count), atMs: 0, chain: 0, context: RunContext(trigger: .onDemand))
        var best = Double.infinity
        var findings: Findings?
        for _ in 0..<5 {
            let start = monotonicSeconds()
            findings = Reconciler.run(projection: projection, aligned: projection.local, config: .standard, point: point)
            best = min(best, monotonicSeconds() - start)
        }
        print("recon bench reconcile: \(symbols) symbols, \(orders) open orders, \(logged.count) events")
        print(String(format: "  replay of the events from the log (baseline, best of 5)  %.3f s", replaySeconds))
        print(String(format: "  fold of the same events from memory (best of 5)          %.3f s", foldSeconds))
        print(String(format: "  one reconcile (best of 5)                                %.3f s  = 1/%.1f of the replay, 1/%.1f of the fold",
                     best, replaySeconds / best, foldSeconds / best))
        print("  found \(findings!.discrepancies.count) discrepancies, checked \(findings!.positionsChecked) positions")
    }
}

struct BenchDriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Drift search on a log with injected faults against a full replay.",
        discussion: """
            Generates a log with a missed fill, a duplicate fill and a lost order \
            (as `recon generate --seed 7 --faults missed_fill,duplicate_fill,lost_order`), \
            times a full fold through both reducers (the baseline), then `recon drift` \
            for each faulty account, and checks each fault is found where `generate` \
            announced it. Exit code 1 if one is not. Each time is the best of \
            --repeat runs, the baseline's as the drifts': on a shared machine, noise \
            only ever adds time, and a single run of either side can be off by half.
            """
    )

    @Option(help: "Runs of each measurement; the best counts.")
    var `repeat` = 3

    @Option(help: "Events in the generated log.")
    var events = 1_000_000

    @Option(help: "Accounts in the generated log.")
    var accounts = 2

    @Option(help: "Scratch folder (deleted afterwards).")
    var scratch = "/tmp/recon-bench-drift"

    func run() throws {
        defer { removeTree(scratch) }
        let requests = [FaultKind.missedFill, .duplicateFill, .lostOrder].map { FaultRequest(kind: $0) }
        let (bench, faults, _) = try BenchLog.make(events: events, accounts: accounts, symbols: 50, seed: 7, faults: requests, at: scratch)
        let runs = max(1, self.repeat)
        var replaySeconds = Double.infinity
        for _ in 0..<runs { replaySeconds = min(replaySeconds, try bench.fullReplay().seconds) }
        print("recon bench drift: \(events) events, \(accounts) accounts, faults \(faults.map(\.kind.rawValue).joined(separator: ",")), best of \(runs)")
        print(String(format: "  full replay (baseline)        %.3f s  %@", replaySeconds, rate(events, replaySeconds)))
        var driftSeconds = 0.0
        var missing = 0
        let last = try bench.log.lastSeq()
        for account in Set(faults.map(\.account)).sorted() {
            var seconds = Double.infinity
            var origins: [Discrepancy] = []
            for _ in 0..<runs {
                let start = monotonicSeconds()
                origins = try DriftCommand.origins(log: bench.log, config: .standard, account: account, to: last)
                seconds = min(seconds, monotonicSeconds() - start)
            }
            driftSeconds += seconds
            print(String(format: "  recon drift --account %@  %.3f s  = %.2fx the replay", account, seconds, seconds / replaySeconds))
            for fault in faults where fault.account == account {
                let type: DiscrepancyType = switch fault.kind {
                case .missedFill: .fillMissingLocal
                case .duplicateFill: .fillDuplicateConflict
                default: .orderMissingRemote
                }
                let found = origins.first { ($0.fillId ?? $0.orderId) == fault.subject && $0.type == type }
                // A missed fill shows first where the venue's record of it arrives; the others where announced.
                let atAnnounced = found.map { fault.kind == .missedFill || $0.firstSeenSeq == fault.revealedAtSeq ?? 0 } ?? false
                if !atAnnounced { missing += 1 }
                print("    \(fault.kind.rawValue) \(fault.subject) (event seq \(fault.seq), announced at seq \(fault.revealedAtSeq.map(String.init) ?? "-")): "
                      + (found.map { "\($0.key) open since seq \($0.firstSeenSeq)\(atAnnounced ? "" : " (NOT where announced)")" } ?? "NOT FOUND"))
            }
        }
        print(String(format: "  drift, all faulty accounts    %.3f s  = %.2fx the replay", driftSeconds, driftSeconds / replaySeconds))
        if missing > 0 { throw ExitCode(1) }
    }
}
