import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

/// Model-based test: random interleavings of appends (new events, identical
/// re-sends, conflicting ids, imported ingest times, some going back), checkpoints,
/// reopenings and as-of reads, run against the real log and against a plain
/// in-memory model; every answer must agree.
@Suite struct LogModelTests {
    /// The whole truth about a log, kept in arrays.
    struct Model {
        var events: [Event] = []
        var ingest: [Int64] = []
        var seqOfId: [String: Int] = [:]

        enum Outcome: Equatable {
            case appended(AppendResult)
            case rejected(StoreError.Kind)
        }

        /// What `EventLog.append` must answer, and the model after it.
        mutating func append(_ batch: [AppendInput], clock: Int64) -> Outcome {
            var next = self
            var result = AppendResult()
            for input in batch {
                if let seq = next.seqOfId[input.event.id] {
                    guard next.events[seq - 1] == input.event else { return .rejected(.conflict) }
                    result.seqs.append(UInt64(seq))
                    result.duplicate.append(true)
                    result.duplicates += 1
                    continue
                }
                let last = next.ingest.last ?? 0
                let stamp: Int64
                if let provided = input.ingestMs {
                    guard provided >= last else { return .rejected(.badInput) }
                    stamp = provided
                } else {
                    stamp = max(last, clock)
                }
                next.events.append(input.event)
                next.ingest.append(stamp)
                next.seqOfId[input.event.id] = next.events.count
                let seq = UInt64(next.events.count)
                result.seqs.append(seq)
                result.duplicate.append(false)
                result.appended += 1
                if result.firstSeq == nil { result.firstSeq = seq }
                result.lastSeq = seq
            }
            self = next
            return .appended(result)
        }

        func seq(atIngestMs time: Int64) -> UInt64 {
            UInt64(ingest.lastIndex { $0 <= time }.map { $0 + 1 } ?? 0)
        }

        func projection(account: String, at seq: Int) -> AccountProjection {
            var p = AccountProjection(account: account)
            for (index, event) in events.prefix(seq).enumerated() where event.account == account {
                p.apply(event, seq: UInt64(index + 1))
            }
            return p
        }
    }

    @Test func randomInterleavingsAgreeWithTheModel() throws {
        for seed in [1, 2, 3] as [UInt64] {
            try run(seed: seed, operations: 250)
        }
    }

    func run(seed: UInt64, operations: Int) throws {
        var rng = SeededRandom(seed: seed)
        var generator = GeneratorOptions()
        generator.events = 4_000
        generator.seed = seed
        generator.accounts = 2
        generator.symbols = 3
        let source = SyntheticGenerator(options: generator).all()
        var nextFresh = 0
        var model = Model()
        var clock: Int64 = 1_000
        let dir = TempFolder()
        var log: EventLog? = try EventLog(directory: dir.path)
        var counts: [String: Int] = [:]

        for step in 0..<operations {
            var current: EventLog! = log
            defer { current = nil }
            let choice = rng.below(100)
            if choice < 55 {
                // A batch mixing new events, identical re-sends and now and then a conflict.
                var batch: [AppendInput] = []
                for line in 1...(1 + rng.below(12)) {
                    let kind = rng.below(100)
                    var input: AppendInput
                    if kind < 15, !model.events.isEmpty {
                        input = AppendInput(event: model.events[rng.below(model.events.count)], line: line)
                    } else if kind < 19, !model.events.isEmpty {
                        var changed = model.events[rng.below(model.events.count)]
                        changed.tsMs += 1
                        input = AppendInput(event: changed, line: line)
                    } else if kind < 23, let earlier = batch.last {
                        input = AppendInput(event: earlier.event, line: line)  // repeated inside the batch
                    } else if nextFresh < source.count {
                        input = AppendInput(event: source[nextFresh], line: line)
                        nextFresh += 1
                    } else {
                        continue
                    }
                    if rng.chance(5) {
                        // An export's ingest time: mostly forward, sometimes back in time.
                        input.ingestMs = (model.ingest.last ?? 0) + Int64(rng.below(2_000)) - 300
                    }
                    batch.append(input)
                }
                guard !batch.isEmpty else { continue }
                clock += Int64(rng.below(500)) - 100  // the wall clock may step back
                let now = clock
                let expected = model.append(batch, clock: now)
                let actual: Model.Outcome
                do {
                    actual = .appended(try current.append(batch, now: { now }))
                } catch {
                    actual = .rejected(error.kind)
                }
                #expect(actual == expected, "seed \(seed) step \(step)")
                counts[{ if case .appended = expected { return "appends" } else { return "rejected" } }(), default: 0] += 1
            } else if choice < 62 {
                _ = try CheckpointStore(log: current, interval: 53).catchUp()
                counts["checkpoints", default: 0] += 1
            } else if choice < 66 {
                // Close, then reopen the same folder (LMDB allows one environment
                // per file per process: the old one must be gone first).
                current = nil
                log = nil
                log = try EventLog(directory: dir.path)
                counts["reopens", default: 0] += 1
            } else {
                let last = model.events.count
                #expect(try current.lastSeq() == UInt64(last))
                let seq = rng.below(last + 2)  // sometimes past the end
                let stored = try current.event(at: UInt64(seq))
                if seq >= 1 && seq <= last {
                    #expect(stored?.event == model.events[seq - 1] && stored?.ingestMs == model.ingest[seq - 1], "seed \(seed) step \(step) seq \(seq)")
                } else {
                    #expect(stored == nil)
                }
                let time = (model.ingest.first ?? 0) + Int64(rng.below(Int(max(1, (model.ingest.last ?? 0) - (model.ingest.first ?? 0) + 200)))) - 100
                #expect(try current.read { try $0.seq(atIngestMs: time) } == model.seq(atIngestMs: time), "seed \(seed) step \(step) time \(time)")
                let at = min(seq, last)
                let account = "acct\(1 + rng.below(2))"
                let viaStore = try CheckpointStore(log: current, interval: 53).projection(account: account, at: UInt64(at))
                #expect(viaStore == model.projection(account: account, at: at), "seed \(seed) step \(step) \(account) at \(at)")
                counts["reads", default: 0] += 1
            }
        }
        let final = try #require(log)
        #expect(try final.verify().isSound)
        #expect(try final.lastSeq() == UInt64(model.events.count))
        // The run must have exercised each kind of step, or it proves little.
        for kind in ["appends", "rejected", "checkpoints", "reopens", "reads"] {
            #expect(counts[kind, default: 0] > 0, "seed \(seed): no \(kind)")
        }
    }
}
