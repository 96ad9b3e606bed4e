import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
            request latency, beside two baselines measured in the same run: the same \
            service with group commit off (one fsync'd commit per request), and raw \
            LMDB with one fsync'd commit per --batch events and no HTTP at all. \
            Build with -c release.

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
        let prepStart = monotonicSeconds()
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
        Console.error(String(format: "prepared in %.1f s", monotonicSeconds() - prepStart))
        print("recon bench serve: \(events) events, \(clients) clients × batches of \(batch), then \(singleEvents) single-event POSTs; durable (fsync per commit)")

        // Baselines first: raw LMDB (no HTTP), then the service with group commit
        // off (one fsync'd commit per request, everything else the same).
        removeTree(scratch)
        let records = all.prefix(events).map { EventLog.recordBytes(for: $0, ingestMs: 1_763_000_000_000) }
        let rawSeconds = try RawLMDBBaseline.append(records: records, batchSize: batch, directory: scratch + "/raw")
        let rawRate = Double(events) / rawSeconds
        let ungrouped = try await load(bodies: bodies, singles: [], folder: scratch + "/ungrouped", group: false)
        let grouped = try await load(bodies: bodies, singles: Array(lines[events..<(events + singleEvents)]),
                                     folder: scratch + "/grouped", group: true)

        func line(_ label: String, _ r: LoadResult) -> String {
            String(format: "  %@ %10.0f events/s   p50 %6.2f ms   p99 %6.2f ms   (%d requests in %d commits, %.1f requests/commit)",
                   label.padding(toLength: 34, withPad: " ", startingAt: 0), r.rate,
                   Self.percentile(r.latencies, 0.50) * 1000, Self.percentile(r.latencies, 0.99) * 1000,
                   r.requests, r.commits, Double(r.requests) / Double(max(r.commits, 1)))
        }
        print(line("serve, group commit", grouped))
        print(line("baseline: serve, 1 commit/request", ungrouped))
        print(String(format: "  %@ %10.0f events/s   (%d fsync'd commits of %d events, no HTTP)",
                     "baseline: raw LMDB, 1 commit/req".padding(toLength: 34, withPad: " ", startingAt: 0), rawRate,
                     (events + batch - 1) / batch, batch))
        print(String(format: "  ratio: %.1fx the service with one commit per request, %.2fx raw LMDB with one commit per request",
                     grouped.rate / ungrouped.rate, grouped.rate / rawRate))
        if !grouped.single.isEmpty {
            let s = grouped.single
            print(String(format: "  single-event POST (1 client)       p50 %6.2f ms   p99 %6.2f ms   max %6.2f ms   (%d requests)",
                         Self.percentile(s, 0.50) * 1000, Self.percentile(s, 0.99) * 1000, (s.last ?? 0) * 1000, s.count))
        }
        removeTree(scratch)
        let failed = grouped.failures + ungrouped.failures
        if failed > 0 {
            print("  FAILED requests: \(failed)")
            throw ExitCode(1)
        }
    }

    struct LoadResult {
        var rate: Double
        var latencies: [Double]
        var single: [Double]
        var requests: Int
        var commits: Int
        var failures: Int
    }

    /// Starts `recon serve` over `folder` in its own process (as in production),
    /// runs the concurrent clients (one thread and keep-alive connection each),
    /// then the single-event client, and stops it with SIGTERM.
    private func load(bodies: [[UInt8]], singles: [[UInt8]], folder: String, group: Bool) async throws -> LoadResult {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let portFile = folder + "/port"
        guard FileManager.default.createFile(atPath: portFile, contents: nil) else {
            throw ValidationError("cannot create \(portFile)")
        }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        // A group always takes at least one request: a limit of 1 event makes it
        // exactly one request per commit.
        child.arguments = ["serve", "--data", folder + "/data", "--listen", "127.0.0.1:0", "--print-port", "--insecure-no-auth",
                           "--log-level", "error", "--max-events-per-commit", group ? "50000" : "1"]
        child.standardOutput = FileHandle(forWritingAtPath: portFile)
        try child.run()
        defer {
            if child.isRunning {
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
            }
        }
        var port = 0
        let deadline = monotonicSeconds() + 60
        while port == 0 {
            port = Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            if port == 0 {
                guard child.isRunning, monotonicSeconds() < deadline else { throw CLIError("recon serve did not start") }
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        let latencies = Mutex<[Double]>([])
        let failures = Mutex(0)
        let clients = clients
        let boundPort = port
        let done = DispatchSemaphore(value: 0)
        let started = monotonicSeconds()
        for client in 0..<clients {
            let thread = Thread {
                var mine: [Double] = []
                do {
                    let connection = try BenchHTTPConnection(port: boundPort)
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
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<clients { await withCheckedContinuation { c in DispatchQueue.global().async { done.wait(); c.resume() } } }
        let seconds = monotonicSeconds() - started
        let commits = try Self.commits(port: port)
        let events = bodies.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } }

        var single: [Double] = []
        if !singles.isEmpty {
            let connection = try BenchHTTPConnection(port: port)
            for line in singles {
                let t0 = monotonicSeconds()
                let status = try connection.post("/v1/events", body: line + [0x0A])
                single.append(monotonicSeconds() - t0)
                if status != 200 { failures.withLock { $0 += 1 } }
            }
        }
        // Scratch data: no graceful stop needed (and the engine may be far behind).
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        return LoadResult(rate: Double(events) / seconds, latencies: latencies.withLock { $0 }.sorted(), single: single.sorted(),
                          requests: bodies.count, commits: commits, failures: failures.withLock { $0 })
    }

    /// Write transactions so far, read from the service's own /metrics.
    static func commits(port: Int) throws -> Int {
        let connection = try BenchHTTPConnection(port: port)
        let text = try connection.get("/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix("recon_append_batch_size_count ") {
            return Int(Double(line.split(separator: " ")[1]) ?? 0)
        }
        return 0
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]
    }
}
