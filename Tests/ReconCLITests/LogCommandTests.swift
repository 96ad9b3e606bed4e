import Foundation
import Testing
import ReconTestSupport

/// End-to-end: the built binary, a real data folder, real files.
@Suite struct LogCommandTests {
    @Test func generateAppendExportReimportGivesIdenticalLogs() throws {
        let dir = TempFolder("recon-cli")
        let file = dir.path + "/day.ndjson"
        let generated = try CLIRunner.run(["generate", "--events", "3000", "--seed", "7", "--faults", "missed_fill,duplicate_fill,lost_order"])
        #expect(generated.status == 0)
        #expect(generated.stderr.contains("fault missed_fill"))
        try generated.stdout.write(toFile: file, atomically: true, encoding: .utf8)

        let first = try CLIRunner.run(["append", "--data", dir.path + "/a", file])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains(#""appended":3000,"duplicates":0,"first_seq":1,"last_seq":3000"#))
        let again = try CLIRunner.run(["append", "--data", dir.path + "/a", file])
        #expect(again.stdout.contains(#""appended":0,"duplicates":3000"#))

        #expect(try CLIRunner.run(["verify", "--data", dir.path + "/a"]).status == 0)
        let exportA = try CLIRunner.run(["events", "--data", dir.path + "/a"])
        let copy = try CLIRunner.run(["append", "--data", dir.path + "/b", "-"], stdin: Data(exportA.stdout.utf8))
        #expect(copy.status == 0, "\(copy.stderr)")
        let exportB = try CLIRunner.run(["events", "--data", dir.path + "/b"])
        #expect(exportA.stdout == exportB.stdout)
        #expect(exportA.stdout.split(separator: "\n").count == 3000)
    }

    /// A 4.5 MB input decoded on 1, 2 and 4 threads: the same log, and a bad line
    /// (after blank lines and with CRLF ends) named by the same line number.
    @Test func decodingOnSeveralThreadsGivesTheSameLogAndTheSameFirstError() throws {
        let dir = TempFolder("recon-cli")
        let generated = try CLIRunner.run(["generate", "--events", "10000", "--seed", "4"])
        var lines = generated.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        #expect(lines.count == 10_000 && generated.stdout.utf8.count > 2 << 20, "the input must be large enough to be split")
        let good = dir.path + "/good.ndjson"
        try lines.joined(separator: "\n").write(toFile: good, atomically: true, encoding: .utf8)
        var exports: [String] = []
        for threads in ["1", "2", "4"] {
            let data = dir.path + "/log" + threads
            let result = try CLIRunner.run(["append", "--data", data, "--decode-threads", threads, good])
            #expect(result.stdout.contains(#""appended":10000,"duplicates":0"#), "\(threads) threads: \(result.stderr)")
            let export = try CLIRunner.run(["events", "--data", data]).stdout
            // ingest_ms is the clock's; everything else must match.
            exports.append(export.replacing(/"ingest_ms":\d+/, with: ""))
        }
        #expect(exports.count == 3 && exports[0] == exports[1] && exports[0] == exports[2] && !exports[0].isEmpty)

        lines[8_000] = lines[8_000].replacing(#""account":"#, with: #""acount":"#, maxReplacements: 1)
        lines[9_000] = "{not json"
        lines.insert("", at: 10)
        lines.insert("  ", at: 5_000)
        let bad = dir.path + "/bad.ndjson"
        try lines.joined(separator: "\r\n").write(toFile: bad, atomically: true, encoding: .utf8)
        for threads in ["1", "2", "4"] {
            let result = try CLIRunner.run(["append", "--data", dir.path + "/bad" + threads, "--decode-threads", threads, bad])
            #expect(result.status == 1)
            #expect(result.stderr.contains(#"line 8003: field "account": is required"#), "\(threads) threads: \(result.stderr)")
        }
    }

    @Test(arguments: [
        ("truncated", #"{"type":"transfer","id":"z","account":"a","ts_ms":1,"#, "line 2: invalid JSON"),
        ("nan", #"{"type":"transfer","id":"z","account":"a","ts_ms":1,"asset":"U","amount":NaN,"kind":"deposit"}"#, "line 2: invalid JSON"),
        ("huge", #"{"type":"transfer","id":"z","account":"a","ts_ms":1,"asset":"U","amount":1e400,"kind":"deposit"}"#, #"line 2: field "amount""#),
        ("unknown type", #"{"type":"nope","id":"z","account":"a","ts_ms":1}"#, #"line 2: field "type": unknown event type"#),
        ("no account", #"{"type":"transfer","id":"z","ts_ms":1,"asset":"U","amount":"1","kind":"deposit"}"#, #"line 2: field "account": is required"#),
        ("wrong type", #"{"type":"transfer","id":"z","account":"a","ts_ms":1,"asset":"U","amount":true,"kind":"deposit"}"#, #"line 2: field "amount": expected a decimal string, got true"#),
    ])
    func badInputIsRejectedWithLineAndFieldAndTheLogIsUnchanged(name: String, line: String, expected: String) throws {
        let dir = TempFolder("recon-cli")
        let good = #"{"type":"transfer","id":"ok1","account":"a","ts_ms":1,"asset":"U","amount":"1","kind":"deposit"}"#
        _ = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data((good + "\n").utf8))
        let input = #"{"type":"transfer","id":"ok2","account":"a","ts_ms":1,"asset":"U","amount":"1","kind":"deposit"}"# + "\n" + line + "\n"
        let result = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data(input.utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains(expected), "\(name): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        let events = try CLIRunner.run(["events", "--data", dir.path])
        #expect(events.stdout.split(separator: "\n").count == 1)
    }

    @Test func tenMegabyteLineIsRejected() throws {
        let dir = TempFolder("recon-cli")
        let big = #"{"type":"recon_requested","id":"z","account":"a","ts_ms":1,"requested_by":""# + String(repeating: "x", count: 10_000_000) + "\"}\n"
        let result = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data(big.utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains("line 1: line is 10000"))
    }

    @Test func conflictingIdRejectsTheBatch() throws {
        let dir = TempFolder("recon-cli")
        let a = #"{"type":"transfer","id":"t1","account":"a","ts_ms":1,"asset":"U","amount":"1","kind":"deposit"}"#
        _ = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data((a + "\n").utf8))
        let changed = #"{"type":"transfer","id":"new","account":"a","ts_ms":1,"asset":"U","amount":"1","kind":"deposit"}"# + "\n"
            + a.replacingOccurrences(of: #""amount":"1""#, with: #""amount":"2""#) + "\n"
        let result = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data(changed.utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains(#"line 2: field "id": "t1" is already in the log at seq 1 with a different body"#))
        #expect(try CLIRunner.run(["events", "--data", dir.path]).stdout.split(separator: "\n").count == 1)
    }

    @Test func eventsFiltersByAccountTypeAndRange() throws {
        let dir = TempFolder("recon-cli")
        let generated = try CLIRunner.run(["generate", "--events", "500", "--accounts", "2"])
        _ = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data(generated.stdout.utf8))
        let fills = try CLIRunner.run(["events", "--data", dir.path, "--type", "fill", "--account", "acct2", "--from", "100", "--to", "300"])
        let lines = fills.stdout.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.contains(#""type":"fill""#) && $0.contains(#""account":"acct2""#) })
        let bad = try CLIRunner.run(["events", "--data", dir.path, "--type", "fils"])
        #expect(bad.status != 0 && bad.stderr.contains("unknown --type fils"))
    }
}
