import ArgumentParser
import Foundation
import ReconCore
import ReconStore

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check fixture logs against their expected reports (regression tests).",
        discussion: """
            Each DIR holds events.ndjson, an optional config.json and expected/: one \
            report per run (run-<seq>-<account>.json) and the lifecycle timeline \
            (timeline.ndjson). The events are appended to a temporary log (ingest \
            times taken from event times, so runs are reproducible), replayed, and \
            every report is compared field by field, ignoring only duration_ms. Any \
            difference is printed by field path and the exit code is 1.

            --update writes the expected files from this build instead.

            Example (in CI):  recon check fixtures/*
            """
    )

    @Argument(help: ArgumentHelp("Fixture folders.", valueName: "DIR"))
    var directories: [String]

    @Flag(help: "Rewrite expected/ from this build's output.")
    var update = false

    func run() throws {
        var failed = 0
        var passed = 0
        for dir in directories {
            let name = URL(fileURLWithPath: dir).lastPathComponent
            var isDirectory: ObjCBool = false
            // `recon check fixtures/*` also matches fixtures/README.md: not a fixture.
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), !isDirectory.boolValue {
                continue
            }
            do {
                let problems = try check(dir)
                if problems.isEmpty {
                    passed += 1
                    print("ok    \(name)")
                } else {
                    failed += 1
                    print("FAIL  \(name)")
                    for p in problems { print("      \(p)") }
                }
            } catch {
                failed += 1
                print("FAIL  \(name)\n      \(error)")
            }
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The fixture's runs, replayed from a temporary log.
    static func runs(_ dir: String) throws -> (reports: [Report], timeline: [LifecycleEvent]) {
        let eventsPath = dir + "/events.ndjson"
        guard let bytes = FileManager.default.contents(atPath: eventsPath) else { throw CLIError("\(eventsPath): cannot read") }
        let decoded: [DecodedEvent]
        do {
            decoded = try bytes.withUnsafeBytes { try NDJSON.decode($0) }
        } catch {
            throw CLIError("\(eventsPath): \(error)")
        }
        let configPath = dir + "/config.json"
        let config = FileManager.default.fileExists(atPath: configPath) ? try ConfigOptions.load(configPath) : .standard
        let scratch = NSTemporaryDirectory() + "recon-check-\(UUID().uuidString)"
        defer { removeTree(scratch) }
        let log = try EventLog(directory: scratch)
        // Event-time ingest clock: the same fixture always gives the same at_ms.
        var clock = Int64.min
        let inputs = decoded.map { d -> AppendInput in
            clock = max(clock, d.ingestMs ?? d.event.tsMs)
            return AppendInput(event: d.event, ingestMs: clock, line: d.line)
        }
        do {
            _ = try log.append(inputs)
        } catch {
            throw CLIError("\(eventsPath): \(error)")
        }
        var reports: [Report] = []
        var timeline: [LifecycleEvent] = []
        _ = try log.replay(config: config) { outcome in
            reports.append(outcome.report)
            timeline += outcome.lifecycle
        }
        return (reports, timeline)
    }

    static func fileName(_ report: Report) -> String {
        "run-" + String(format: "%06llu", report.point.atSeq) + "-\(report.point.account).json"
    }

    private func check(_ dir: String) throws -> [String] {
        let (reports, timeline) = try Self.runs(dir)
        let expectedDir = dir + "/expected"
        let fm = FileManager.default
        var actualFiles: [String: String] = [:]
        for r in reports {
            let json = try JSONReader.parse(String(decoding: r.json(), as: UTF8.self))
            actualFiles[Self.fileName(r)] = json.pretty() + "\n"
        }
        actualFiles["timeline.ndjson"] = timeline.map { e -> String in
            var w = JSONWriter()
            e.writeJSON(into: &w)
            return w.text + "\n"
        }.joined()
        if update {
            removeTree(expectedDir)
            try fm.createDirectory(atPath: expectedDir, withIntermediateDirectories: true)
            for (file, text) in actualFiles {
                try text.write(toFile: expectedDir + "/" + file, atomically: true, encoding: .utf8)
            }
            return []
        }
        guard fm.fileExists(atPath: expectedDir) else { return ["no expected/ folder (run `recon check --update \(dir)` to create it)"] }
        var problems: [String] = []
        let expectedFiles = try fm.contentsOfDirectory(atPath: expectedDir).filter { $0.hasSuffix(".json") || $0.hasSuffix(".ndjson") }.sorted()
        for file in Set(expectedFiles).union(actualFiles.keys).sorted() {
            guard let actual = actualFiles[file] else {
                problems.append("\(file): expected a run there, but this build made none")
                continue
            }
            guard let expectedData = fm.contents(atPath: expectedDir + "/" + file) else {
                problems.append("\(file): this build made a run not in expected/")
                continue
            }
            let expected = String(decoding: expectedData, as: UTF8.self)
            if file.hasSuffix(".ndjson") {
                let e = expected.split(separator: "\n"), a = actual.split(separator: "\n")
                for i in 0..<max(e.count, a.count) {
                    let el = i < e.count ? String(e[i]) : "", al = i < a.count ? String(a[i]) : ""
                    if el != al {
                        let ev = (try? JSONReader.parse(el)) ?? .null, av = (try? JSONReader.parse(al)) ?? .null
                        for d in JSONDiff.differences(expected: ev, actual: av, path: "line \(i + 1)") { problems.append("\(file): \(d)") }
                        if ev == av { problems.append("\(file): line \(i + 1) differs") }
                    }
                }
                continue
            }
            do {
                let ev = try JSONReader.parse(expected), av = try JSONReader.parse(actual)
                for d in JSONDiff.differences(expected: ev, actual: av, ignoring: ["duration_ms"]) {
                    problems.append("\(file): \(d)")
                }
            } catch {
                problems.append("\(file): expected file is not valid JSON: \(error)")
            }
        }
        return problems
    }
}
