import ArgumentParser
import Foundation
import Logging
import ReconCore
import ReconService
import ReconStore
import Synchronization

struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Durable HTTP ingest throughput and latency of recon serve, against one fsync'd commit per request.",
        discussion: """
            Starts the service in this process on a free loopback port over a scratch \
            folder (durable: fsync on every commit; the reconcile engine runs as in \
            production), then: --clients connections each POST batches of --batch \
            generated events as fast as answers come (keep-alive HTTP/1.1); then one \
            client POSTs single events one at a time. Prints events/s and p50/p99 \
            request latency, beside the baseline measured in the same run: raw LMDB, \
            one fsync'd commit per --batch events, no HTTP (what the service would \
            cost per request without group commit). Build with -c release.

            Example:
              swift build -c release && .build/release/recon bench serve
            """
    )

    @Option(help: "Events posted by the concurrent clients.")
    var events = 320_000

    @Option(help: "Concurrent clients.")
    var clients = 16

    @Option(help: "Events per request.")
    var batch = 100

    @Option(help: "Single-event POSTs for the latency run.")
    var singleEvents = 2_000

    @Option(help: "Generator seed.")
    var seed: UInt64 = 7

    @Option(help: "Scratch folder (deleted afterwards).")
    var scratch = "/tmp/recon-bench-serve"

    func validate() throws {
        guard events > 0, clients > 0, batch > 0, singleEvents >= 0 else { throw ValidationError("counts must be positive") }
    }

    func run() async throws {
        var options = GeneratorOptions()
        options.events = events + singleEvents
        options.seed = seed
        options.symbols = 50
        let all = SyntheticGenerator(options: options).all()
        let lines = all.map { $0.jsonObject() }
        let bodies = stride(from: 0, to: events, by: batch).map { start -> [UInt8] in
            var body: [UInt8] = []
            for line in lines[start..<min(start + batch, events)] {
                body += line
                body.append(0x0A)
            }
            return body
        }
        print("recon bench serve: \(events) events, \(clients) clients × batches of \(batch), then \(singleEvents) single-event POSTs; durable (fsync per commit)")

        // Baseline first, on an idle machine: one fsync'd raw commit per request.
        removeTree(scratch)
        let records = all.prefix(events).map { EventLog.recordBytes(for: $0, ingestMs: 1_763_000_000_000) }
        let baselineSeconds = try RawLMDBBaseline.append(records: records, batchSize: batch, directory: scratch + "/raw")
        let baselineRate = Double(events) / baselineSeconds

        var serve = ServeOptions(dataDirectory: scratch + "/serve", config: .standard)
        serve.port = 0
        serve.insecure = true
        serve.reportDirectory = scratch + "/reports"
        serve.engine.postFillDelayMs = 5_000
        var logger = Logger(label: "recon.bench")
        logger.logLevel = .error
        let server = try ReconServer(options: serve, logger: logger)
        let port = Mutex(0)
        let running = Task { try await server.run { p in port.withLock { $0 = p } } }
        while port.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let p = port.withLock { $0 }

        // The concurrent run: each client its own thread and connection.
        let latencies = Mutex<[Double]>([])
        let failures = Mutex(0)
        let started = monotonicSeconds()
        DispatchQueue.concurrentPerform(iterations: clients) { client in
            var mine: [Double] = []
            do {
                let connection = try BenchHTTPConnection(port: p)
                for index in stride(from: client, to: bodies.count, by: clients) {
                    let t0 = monotonicSeconds()
                    let status = try connection.post("/v1/events", body: bodies[index])
                    mine.append(monotonicSeconds() - t0)
                    if status != 200 { failures.withLock { $0 += 1 } }
                }
            } catch {
                failures.withLock { $0 += 1 }
            }
            latencies.withLock { $0 += mine }
        }
        let seconds = monotonicSeconds() - started
        let totals = server.state.commitTotals

        // Single events, one client, one at a time: each pays a whole commit.
        var single: [Double] = []
        if singleEvents > 0 {
            let connection = try BenchHTTPConnection(port: p)
            for line in lines[events..<(events + singleEvents)] {
                let t0 = monotonicSeconds()
                let status = try connection.post("/v1/events", body: line + [0x0A])
                single.append(monotonicSeconds() - t0)
                if status != 200 { failures.withLock { $0 += 1 } }
            }
        }
        running.cancel()
        _ = try? await running.value

        let rate = Double(events) / seconds
        let l = latencies.withLock { $0 }.sorted()
        print(String(format: "  serve, group commit          %10.0f events/s   p50 %6.2f ms   p99 %6.2f ms   (%d requests in %d commits, %.1f requests/commit)",
                     rate, Self.percentile(l, 0.50) * 1000, Self.percentile(l, 0.99) * 1000,
                     totals.requests, totals.commits, Double(totals.requests) / Double(max(totals.commits, 1))))
        print(String(format: "  baseline, raw LMDB commit/req %10.0f events/s   (%d fsync'd commits of %d events, no HTTP)",
                     baselineRate, (events + batch - 1) / batch, batch))
        print(String(format: "  ratio                         %10.1fx baseline", rate / baselineRate))
        if !single.isEmpty {
            let s = single.sorted()
            print(String(format: "  single-event POST (1 client)  p50 %6.2f ms   p99 %6.2f ms   max %6.2f ms   (%d requests)",
                         Self.percentile(s, 0.50) * 1000, Self.percentile(s, 0.99) * 1000, (s.last ?? 0) * 1000, s.count))
        }
        let failed = failures.withLock { $0 }
        if failed > 0 { print("  FAILED requests: \(failed)") }
        removeTree(scratch)
        if failed > 0 { throw ExitCode(1) }
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
    }
}
