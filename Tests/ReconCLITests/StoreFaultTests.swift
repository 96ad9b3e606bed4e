import Foundation
import Testing
import ReconCore
@testable import ReconStore
#if canImport(Glibc)
import Glibc
#endif

/// Faults at the edges of the store, with real LMDB files and real processes:
/// each must end in a clear error and leave the log as it was.
@Suite struct StoreFaultTests {
    /// Generated NDJSON of `events` events (seed 5, 2 accounts).
    static func session(events: Int, seed: Int = 5) throws -> String {
        let generated = try CLIRunner.run(["generate", "--events", "\(events)", "--seed", "\(seed)", "--accounts", "2"])
        #expect(generated.status == 0)
        return generated.stdout
    }

    /// A data folder holding `events` generated events, and its export.
    static func populated(_ dir: TempFolder, events: Int) throws -> (data: String, export: String) {
        let data = dir.path + "/data"
        let appended = try CLIRunner.run(["append", "--data", data, "-"], stdin: Data(try session(events: events).utf8))
        #expect(appended.status == 0, "\(appended.stderr)")
        let export = try CLIRunner.run(["events", "--data", data])
        #expect(export.status == 0)
        return (data, export.stdout)
    }

    /// The log verifies and holds exactly `export`.
    static func expectIntact(_ data: String, _ export: String, _ comment: Comment? = nil) throws {
        let verify = try CLIRunner.run(["verify", "--data", data])
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr) \(comment?.rawValue ?? "")")
        let now = try CLIRunner.run(["events", "--data", data])
        #expect(now.stdout == export, "the log's content changed \(comment?.rawValue ?? "")")
    }

    /// Another process grows the map past this process's map size; this
    /// process's next read and append adopt the new size instead of failing.
    @Test(.timeLimit(.minutes(1)))
    func aMapGrownByAnotherProcessIsAdopted() throws {
        let dir = TempFolder("recon-fault")
        let data = dir.path + "/data"
        var options = EventLogOptions()
        options.mapSizeBytes = 256 * 1024
        let log = try EventLog(directory: data + "/log", options: options)
        _ = try log.append([AppendInput(event: Event(id: "first", account: "a", tsMs: 1, body: .reconRequested(ReconRequested(requestedBy: "t"))), line: 1)])
        // The CLI opens with its own (1 GiB) map and writes far past 256 KiB.
        let other = try CLIRunner.run(["append", "--data", data, "-"], stdin: Data(try Self.session(events: 6_000).utf8))
        #expect(other.status == 0, "\(other.stderr)")
        #expect(try log.lastSeq() == 6_001)
        #expect(try log.event(at: 6_001) != nil)
        let more = try log.append([AppendInput(event: Event(id: "last", account: "a", tsMs: 2, body: .reconRequested(ReconRequested(requestedBy: "t"))), line: 1)])
        #expect(more.lastSeq == 6_002)
        #expect(try log.verify().isSound)
    }
}
