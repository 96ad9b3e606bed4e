import ArgumentParser
import Foundation
import ReconCore
import ReconStore
#if canImport(Glibc)
import Glibc
#endif

struct BenchAppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append throughput: raw LMDB vs engine vs NDJSON import.",
        discussion: """
            On the same generated events, for each batch size: raw LMDB MDB_APPEND of \
            the encoded records (baseline), engine append of decoded events (encode + \
            id index + put), and NDJSON import end to end (parse + decode + append); \
            plus the JSON decoder, the codec's encoding and the chain and body hash \
            alone. All commits are durable (fsync). Each figure is the fastest of \
            --repeat runs, and each ratio compares figures of the same run.
            """
    )

    @Option(help: "Events per measurement at batch sizes 100 and 10000.")
    var events = 200_000

    @Option(help: "Events at batch size 1 (one fsync each; keep small).")
    var singleEvents = 500

    @Option(help: "Generator seed.")
    var seed: UInt64 = 7

    @Option(help: "Scratch folder (deleted afterwards).")
    var scratch = "/tmp/recon-bench-append"

    @Option(help: "Runs of each figure; the fastest counts (this machine's single runs scatter).")
    var `repeat` = 3

    func validate() throws {
        guard events > 0, singleEvents > 0 else { throw ValidationError("--events and --single-events must be at least 1") }
        guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1") }
    }

    func run() throws {
        var options = GeneratorOptions()
        options.events = events
        options.seed = seed
        options.symbols = 50
        let all = SyntheticGenerator(options: options).all()
        let ndjson = all.map { String(decoding: $0.jsonObject(), as: UTF8.self) }.joined(separator: "\n").utf8.map { $0 }
        print("recon bench append: \(events) events (\(singleEvents) at batch 1), \(ndjson.count / max(events, 1)) bytes/event as NDJSON, best of \(`repeat`) runs of each figure")

        // The decoder alone.
        var decodedCount = 0
        let decodeSeconds = try best {
            let decoded = try ndjson.withUnsafeBytes { try NDJSON.decode($0) }
            decodedCount = decoded.count
        }
        print(row("json decode only", decodedCount, decodeSeconds, baseline: nil))

        // What engine append does per event besides LMDB's work, alone.
        var encodedBytes = 0
        let encodeSeconds = best {
            var writer = ByteWriter(capacity: 512)
            encodedBytes = 0
            for event in all {
                writer.removeAll()
                EventCodec.encode(event, into: &writer)
                encodedBytes += writer.count
            }
        }
        print(row("codec encode only", all.count, encodeSeconds, baseline: nil) + "   \(encodedBytes / max(all.count, 1)) bytes/event")
        let encodedAll = all.map { EventCodec.encode($0) }
        var chainAndBodies: UInt64 = 0
        let hashSeconds = best {
            var chain = ContentChain.start
            var bodies: UInt64 = 0
            for content in encodedAll {
                let (next, body) = content.withUnsafeBytes { ContentChain.nextWithBodyHash(chain, content: $0) }
                chain = next
                bodies ^= body
            }
            chainAndBodies = chain ^ bodies
        }
        // Printed so the loop is not optimised away.
        print(row("chain + body hash only", all.count, hashSeconds, baseline: nil) + String(format: "   (digest %016llx)", chainAndBodies))

        var rawAtLargestBatch = 0.0
        for batch in [1, 100, 10_000] {
            let count = batch == 1 ? min(singleEvents, events) : events
            let slice = Array(all.prefix(count))
            let records = slice.map { EventLog.recordBytes(for: $0, ingestMs: 1_763_000_000_000) }
            let inputs = slice.enumerated().map { AppendInput(event: $1, line: $0 + 1) }
            let lines = ndjson.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(count)
            // Each run into a new folder, opened before the clock starts.
            let raw = try fastest {
                removeTree(scratch)
                return try RawLMDBBaseline.append(records: records, batchSize: batch, directory: scratch + "/raw")
            }
            let engine = try fastest {
                removeTree(scratch)
                let log = try EventLog(directory: scratch + "/engine")
                let start = monotonicSeconds()
                var index = 0
                while index < inputs.count {
                    let end = min(index + batch, inputs.count)
                    _ = try log.append(Array(inputs[index..<end]))
                    index = end
                }
                return monotonicSeconds() - start
            }
            let imported = try fastest {
                removeTree(scratch)
                let importLog = try EventLog(directory: scratch + "/import")
                let start = monotonicSeconds()
                var pending: [AppendInput] = []
                pending.reserveCapacity(batch)
                var lineNumber = 0
                for line in lines {
                    lineNumber += 1
                    let event = try line.withUnsafeBufferPointer { try Event.decode(line: lineNumber, text: $0) }
                    pending.append(AppendInput(event: event.event, line: lineNumber))
                    if pending.count == batch {
                        _ = try importLog.append(pending)
                        pending.removeAll(keepingCapacity: true)
                    }
                }
                if !pending.isEmpty { _ = try importLog.append(pending) }
                return monotonicSeconds() - start
            }

            rawAtLargestBatch = raw
            print("batch \(batch):")
            print(row("  raw LMDB MDB_APPEND (baseline)", count, raw, baseline: raw))
            print(row("  engine append", count, engine, baseline: raw))
            print(row("  NDJSON import end to end", count, imported, baseline: raw))
        }

        // What `recon append FILE` does: decode the whole input on every core,
        // check its ids against the log, then append it in batches of 10,000.
        let threads = ParallelNDJSON.defaultThreads
        let appendSeconds = try fastest {
            removeTree(scratch)
            let appendLog = try EventLog(directory: scratch + "/append")
            let start = monotonicSeconds()
            let parsed = try ndjson.withUnsafeBytes { try ParallelNDJSON.decode($0, maxLineBytes: NDJSON.defaultMaxLineBytes, threads: threads) }
            _ = try appendLog.appendInBatches(parsed.map { AppendInput(event: $0.event, ingestMs: $0.ingestMs, line: $0.line) }, batchSize: 10_000)
            return monotonicSeconds() - start
        }
        print("recon append FILE (decode on \(threads) threads, id check, batches of 10000):")
        print(row("  NDJSON import end to end", all.count, appendSeconds, baseline: rawAtLargestBatch))
        removeTree(scratch)
    }

    /// The fastest of `repeat` runs of `body`, in seconds.
    private func best(_ body: () throws -> Void) rethrows -> Double {
        try fastest {
            let start = monotonicSeconds()
            try body()
            return monotonicSeconds() - start
        }
    }

    /// The least of `repeat` durations that `run` measures itself (to leave
    /// set-up out), in seconds.
    private func fastest(_ run: () throws -> Double) rethrows -> Double {
        try fastestRun(of: `repeat`, run, seconds: { $0 })
    }

    private func row(_ label: String, _ count: Int, _ seconds: Double, baseline: Double?) -> String {
        let rate = Double(count) / seconds
        var text = label.padding(toLength: 36, withPad: " ", startingAt: 0)
        text += String(format: "%12.0f events/s", rate)
        if let baseline { text += String(format: "   %.2fx baseline", baseline / seconds) }
        return text
    }
}

/// Removes a folder tree (scratch data of benchmarks and demos).
func removeTree(_ path: String) {
    guard !path.isEmpty, path != "/" else { return }
    try? FileManager.default.removeItem(atPath: path)
}
