import Foundation
import Testing
import ReconCore
import ReconTestSupport

/// Damaged data files, read by real processes (a damaged B-tree page may crash
/// the reader inside liblmdb; that must stay loud and never turn into wrong data).
@Suite struct CorruptionTests {
    /// A log of `count` events where every 100th is a `recon_requested` carrying a
    /// marker text, so a test can find that record's bytes in the file.
    static func markedLog(_ dir: TempFolder, count: Int) throws -> (data: String, export: String) {
        let generated = try CLIRunner.run(["generate", "--events", "\(count)", "--seed", "12", "--accounts", "2"])
        var lines = generated.stdout.split(separator: "\n").map(String.init)
        for seq in stride(from: 100, through: count, by: 100) {
            lines[seq - 1] = #"{"type":"recon_requested","id":"mark-\#(seq)","account":"acct1","ts_ms":1763000000000,"requested_by":"MARKER-\#(seq)-END"}"#
        }
        let data = dir.path + "/data"
        let appended = try CLIRunner.run(["append", "--data", data, "-"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(appended.status == 0, "\(appended.stderr)")
        return (data, try CLIRunner.run(["events", "--data", data]).stdout)
    }

    static func copy(_ bytes: [UInt8], flipping offset: Int, into folder: String) throws {
        var damaged = bytes
        damaged[offset] ^= 0x5A
        try FileManager.default.createDirectory(atPath: folder + "/log", withIntermediateDirectories: true)
        try Data(damaged).write(to: URL(fileURLWithPath: folder + "/log/data.mdb"))
    }

    /// A flipped byte inside a record: verify names its seq, and reading it (the
    /// export, the account's state) fails naming the seq; the records around it
    /// still read back exactly.
    @Test func aDamagedRecordIsNamedByVerifyAndNeverReadBack() throws {
        let dir = TempFolder("recon-corrupt")
        let (data, export) = try Self.markedLog(dir, count: 1_500)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: data + "/log/data.mdb")))
        let exportLines = export.split(separator: "\n")
        for seq in [100, 700, 1_500] {
            let marker = Array("MARKER-\(seq)-END".utf8)
            let at = try #require(original.indices.first { original[$0..<min($0 + marker.count, original.count)].elementsEqual(marker) })
            let copy = dir.path + "/copy-\(seq)"
            try Self.copy(original, flipping: at + 8, into: copy)
            let verify = try CLIRunner.run(["verify", "--data", copy])
            #expect(verify.status == 1)
            #expect(verify.stderr.contains("fault: seq \(seq): checksum mismatch"), "\(verify.stderr)")
            let all = try CLIRunner.run(["events", "--data", copy])
            #expect(all.status == 1 && all.stderr.contains("seq \(seq): checksum mismatch"), "\(all.stderr)")
            let one = try CLIRunner.run(["events", "--data", copy, "--from", "\(seq)", "--to", "\(seq)"])
            #expect(one.status == 1 && one.stdout.isEmpty)
            let before = try CLIRunner.run(["events", "--data", copy, "--to", "\(seq - 1)"])
            #expect(before.status == 0 && before.stdout.split(separator: "\n") == Array(exportLines.prefix(seq - 1)))
            let state = try CLIRunner.run(["state", "--data", copy, "--account", "acct1", "--at", "\(seq)", "--json"])
            #expect(state.status == 1 && state.stderr.contains("seq \(seq)"), "\(state.stderr)")
        }
    }

    /// Flips one byte at each of many offsets across the whole file (records,
    /// keys, page headers, the id index, free space). Whatever is hit, no command
    /// returns wrong data: an export that succeeds equals the original, and a
    /// verify that passes means the export is the original.
    @Test(.tags(.slow)) func noSingleFlippedByteMakesAReadReturnWrongData() throws {
        let dir = TempFolder("recon-corrupt")
        let (data, export) = try Self.markedLog(dir, count: 1_500)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: data + "/log/data.mdb")))
        var rng = SeededRandom(seed: 77)
        var outcomes: [String: Int] = [:]
        let trials = 60
        for trial in 0..<trials {
            let offset = rng.below(original.count)
            let copy = dir.path + "/copy-\(trial)"
            try Self.copy(original, flipping: offset, into: copy)
            let verify = try CLIRunner.run(["verify", "--json", "--data", copy])
            let events = try CLIRunner.run(["events", "--data", copy])
            if events.status == 0 {
                #expect(events.stdout == export, "offset \(offset): an export that succeeds returned different events")
            }
            if verify.status == 0 {
                #expect(verify.stdout.contains(#""sound":true"#))
                #expect(events.status == 0 && events.stdout == export, "offset \(offset): verify passed but the content differs")
            }
            let kind = verify.status == 0 ? "unharmed" : verify.status == 1 ? "found by verify" : "reader crashed (status \(verify.status))"
            outcomes[kind, default: 0] += 1
            try? FileManager.default.removeItem(atPath: copy)
        }
        // Most flips land in records or structure that verify reads.
        #expect(outcomes["found by verify", default: 0] > trials / 3, "\(outcomes)")
    }
}

extension Tag {
    /// Tests that take more than a few seconds.
    @Tag static var slow: Self
}
