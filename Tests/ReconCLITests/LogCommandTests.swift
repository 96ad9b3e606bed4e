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

    /// A file over `--stream-above-bytes` is read in pieces, twice: the same log
    /// as read whole; a bad line, an over-long line or an id repeated with
    /// another body in a late piece still stores nothing and names the line.
    @Test func aFileLargerThanTheStreamingLimitIsAppendedInPiecesWithTheSameResult() throws {
        let dir = TempFolder("recon-cli")
        let generated = try CLIRunner.run(["generate", "--events", "3000", "--seed", "5"])
        let lines = generated.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let file = dir.path + "/day.ndjson"
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        // Pieces of about 40 kB (twice the longest line allowed): some 30 of them.
        let streamed = ["--stream-above-bytes", "1000", "--max-line-bytes", "20000"]

        let whole = try CLIRunner.run(["append", "--data", dir.path + "/whole", file])
        let pieces = try CLIRunner.run(["append", "--data", dir.path + "/pieces"] + streamed + [file])
        #expect(pieces.status == 0, "\(pieces.stderr)")
        #expect(pieces.stdout == whole.stdout && whole.stdout.contains(#""appended":3000,"duplicates":0,"first_seq":1,"last_seq":3000"#))
        let exportWhole = try CLIRunner.run(["events", "--data", dir.path + "/whole"]).stdout.replacing(/"ingest_ms":\d+/, with: "")
        let exportPieces = try CLIRunner.run(["events", "--data", dir.path + "/pieces"]).stdout.replacing(/"ingest_ms":\d+/, with: "")
        #expect(exportPieces == exportWhole && !exportWhole.isEmpty)
        let again = try CLIRunner.run(["append", "--data", dir.path + "/pieces"] + streamed + [file])
        #expect(again.stdout.contains(#""appended":0,"duplicates":3000"#), "\(again.stderr)")

        // Each fault on its own in a copy of the file, appended to a log of 100 events.
        let firstId = try #require(lines[9].firstMatch(of: /"id":"([^"]+)"/)?.1)
        let faults: [(String, (inout [String]) -> Void, String)] = [
            ("bad line", { $0[2_899] = #"{"type":"fill""# }, "line 2900"),
            ("over-long line", { $0[2_950] = String(repeating: " ", count: 30_000) + "{}" }, "line 2951: line is 30002 bytes, longer than the limit of 20000 bytes"),
            ("id repeated with another body", { lines in
                lines[2_990] = lines[2_990].replacing(/"id":"[^"]+"/, with: #""id":"\#(firstId)""#)
            }, #"line 2991: field "id": "\#(firstId)" appears at line 10 with a different body; nothing was stored"#),
        ]
        let seed = dir.path + "/seed.ndjson"
        try (lines.prefix(100).joined(separator: "\n") + "\n").write(toFile: seed, atomically: true, encoding: .utf8)
        for (name, fault, message) in faults {
            var copy = lines
            fault(&copy)
            let bad = dir.path + "/bad.ndjson"
            try (copy.joined(separator: "\n") + "\n").write(toFile: bad, atomically: true, encoding: .utf8)
            let data = dir.path + "/faulty-" + name.replacing(" ", with: "-")
            #expect(try CLIRunner.run(["append", "--data", data, seed]).status == 0)
            let result = try CLIRunner.run(["append", "--data", data] + streamed + [bad])
            #expect(result.status == 1, "\(name)")
            #expect(result.stderr.contains(message), "\(name): \(result.stderr)")
            let kept = try CLIRunner.run(["events", "--data", data]).stdout.split(separator: "\n").count
            #expect(kept == 100, "\(name): nothing of the rejected file is stored")
            // Into a folder that does not exist yet: rejected as well, and no log is created.
            let fresh = dir.path + "/fresh-" + name.replacing(" ", with: "-")
            let intoNew = try CLIRunner.run(["append", "--data", fresh] + streamed + [bad])
            #expect(intoNew.status == 1 && intoNew.stderr.contains(message), "\(name): \(intoNew.stderr)")
            #expect(!FileManager.default.fileExists(atPath: fresh + "/log/data.mdb"), "\(name): no log is created for a rejected file")
        }
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
