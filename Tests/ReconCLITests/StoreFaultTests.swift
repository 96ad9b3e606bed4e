import Foundation
import Testing
import ReconCore
@testable import ReconStore
#if canImport(Glibc)
import Glibc
#endif
import ReconTestSupport

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

    /// Runs the CLI under `ulimit -f` (KiB) in a child shell.
    static func runLimited(fileSizeKiB: Int, _ arguments: [String]) throws -> CLIRunner.Result {
        let script = "ulimit -f \(fileSizeKiB) && exec \"$0\" \"$@\""
        return try CLIRunner.run(["-c", script, CLIRunner.binary] + arguments, executable: "/bin/bash")
    }

    static func fileSizeKiB(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1024
    }

    /// A file size limit (RLIMIT_FSIZE) part way through an append: an error that
    /// says so, not a process killed by SIGXFSZ, and the log as it was.
    @Test func aFileSizeLimitIsAnErrorAndTheLogIsIntact() throws {
        let dir = TempFolder("recon-fault")
        let (data, export) = try Self.populated(dir, events: 300)
        let more = dir.path + "/more.ndjson"
        // Ids of their own, so the input is new to the log.
        try Self.session(events: 4_000, seed: 9).replacingOccurrences(of: #""id":"acct"#, with: #""id":"more-acct"#)
            .write(toFile: more, atomically: true, encoding: .utf8)
        let size = Self.fileSizeKiB(data + "/log/data.mdb")
        // At the file's size: the first write past it would raise SIGXFSZ (EFBIG once
        // ignored). A little above: a write crosses the limit and comes back short (EIO).
        for limit in [size, size + 40] {
            let result = try Self.runLimited(fileSizeKiB: limit, ["append", "--data", data, more])
            #expect(result.status == 1, "limit \(limit) KiB: status \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("nothing of the batch was stored"), "limit \(limit) KiB: \(result.stderr)")
            #expect(result.stderr.contains("file size limit"), "\(result.stderr)")
            try Self.expectIntact(data, export, "after a limit of \(limit) KiB")
        }
        // Without the limit the same input goes in whole.
        let again = try CLIRunner.run(["append", "--data", data, more])
        #expect(again.status == 0 && again.stdout.contains(#""appended":4000"#), "\(again.stderr)")
    }

    static let tmpfsAvailable: Bool = {
        guard getuid() == 0 else { return false }
        let probe = TempFolder("recon-tmpfs-probe")
        let mounted = (try? CLIRunner.run(["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe.path], executable: "/bin/mount").status) == 0
        if mounted { _ = try? CLIRunner.run([probe.path], executable: "/bin/umount") }
        return mounted
    }()

    /// A full disk (a small tmpfs): a clear error, the log intact, and once space
    /// is freed the same open log appends again.
    @Test(.enabled(if: StoreFaultTests.tmpfsAvailable, "needs root to mount a small tmpfs"))
    func aFullDiskIsAnErrorAndTheLogRecovers() throws {
        let mountPoint = TempFolder("recon-tmpfs")
        #expect(try CLIRunner.run(["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.path], executable: "/bin/mount").status == 0)
        defer { _ = try? CLIRunner.run([mountPoint.path], executable: "/bin/umount") }
        let filler = mountPoint.path + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 400 * 1024)))
        var options = EventLogOptions()
        options.mapSizeBytes = 8 << 20
        let log = try EventLog(directory: mountPoint.path + "/log", options: options)
        var generator = GeneratorOptions()
        generator.events = 20_000
        let events = SyntheticGenerator(options: generator).all()
        var written = 0
        var failure: StoreError?
        while written < events.count {
            let batch = events[written..<min(written + 500, events.count)].enumerated().map { AppendInput(event: $1, line: $0 + 1) }
            do {
                _ = try log.append(batch)
                written += batch.count
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure, "1 MiB should not hold 20,000 events")
        #expect(error.kind == .storage)
        #expect(error.message.contains("nothing of the batch was stored"), "\(error.message)")
        #expect(try log.lastSeq() == UInt64(written))
        #expect(try log.verify().isSound)
        // Space comes back: the same instance appends the batch that failed.
        try FileManager.default.removeItem(atPath: filler)
        let retry = events[written..<written + 500].enumerated().map { AppendInput(event: $1, line: $0 + 1) }
        let result = try log.append(retry)
        #expect(result.appended == 500 && result.lastSeq == UInt64(written + 500))
        #expect(try log.verify().isSound)
    }

    static let canDropPrivileges: Bool = getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// A data folder the user may not write: a clear error, nothing changed.
    @Test(.enabled(if: StoreFaultTests.canDropPrivileges, "root needs setpriv to act as another user"))
    func aReadOnlyDataFolderIsAClearError() throws {
        let dir = TempFolder("recon-fault")
        let (data, export) = try Self.populated(dir, events: 200)
        let input = dir.path + "/more.ndjson"
        try Self.session(events: 50, seed: 8).replacingOccurrences(of: #""id":"acct"#, with: #""id":"more-acct"#)
            .write(toFile: input, atomically: true, encoding: .utf8)
        chmod(dir.path, 0o755)
        chmod(input, 0o644)
        for path in [data, data + "/log"] { chmod(path, 0o555) }
        for file in ["data.mdb", "lock.mdb"] { chmod(data + "/log/" + file, 0o444) }
        defer {
            for path in [data, data + "/log"] { chmod(path, 0o755) }
            for file in ["data.mdb", "lock.mdb"] { chmod(data + "/log/" + file, 0o644) }
        }
        // Root ignores permissions: act as nobody.
        let asUser = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CLIRunner.binary] : [CLIRunner.binary]
        let append = try CLIRunner.run(Array(asUser.dropFirst()) + ["append", "--data", data, input], executable: asUser[0])
        #expect(append.status == 1)
        #expect(append.stderr.contains("permission denied; the data folder is read-only or not yours"), "\(append.stderr)")
        let verify = try CLIRunner.run(Array(asUser.dropFirst()) + ["verify", "--data", data], executable: asUser[0])
        #expect(verify.status == 1 && verify.stderr.contains("permission denied"), "\(verify.stderr)")
        for path in [data, data + "/log"] { chmod(path, 0o755) }
        for file in ["data.mdb", "lock.mdb"] { chmod(data + "/log/" + file, 0o644) }
        try Self.expectIntact(data, export)
    }

    /// A reader killed with SIGKILL inside a read transaction leaves its slot
    /// taken; the next process to open the log clears it.
    @Test(.timeLimit(.minutes(1)))
    func aStaleReaderOfAKilledProcessIsClearedAtOpen() throws {
        let dir = TempFolder("recon-fault")
        let (data, export) = try Self.populated(dir, events: 4_000)
        let log = try EventLog(directory: data + "/log")
        #expect(log.env.readerSlotsInUse() == 0)
        // `recon events` into a pipe nobody reads blocks inside its read transaction.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CLIRunner.binary)
        child.arguments = ["events", "--data", data]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        var waited = 0
        while log.env.readerSlotsInUse() == 0 && waited < 200 {
            usleep(25_000)
            waited += 1
        }
        #expect(log.env.readerSlotsInUse() == 1, "the blocked reader holds a slot")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(log.env.readerSlotsInUse() == 1, "the dead reader's slot stays taken until someone checks")
        // Any process that opens the log (here `recon verify`) clears it.
        let verify = try CLIRunner.run(["verify", "--data", data])
        #expect(verify.status == 0)
        #expect(log.env.readerSlotsInUse() == 0)
        #expect(log.clearStaleReaders() == 0)
        try Self.expectIntact(data, export)
        _ = pipe
    }

    /// A folder written by a newer Recon is refused by every command, and not
    /// touched.
    @Test func aFolderFromANewerFormatIsRefusedAndLeftUnchanged() throws {
        let dir = TempFolder("recon-fault")
        let (data, _) = try Self.populated(dir, events: 100)
        do {
            let log = try EventLog(directory: data + "/log")
            let txn = try LMDBTransaction(log.env, readOnly: false)
            try Array("format".utf8).withUnsafeBytes { k in
                try [UInt8(7)].withUnsafeBytes { v in try txn.put(log.meta, key: k, value: v, flags: 0) }
            }
            try txn.commit()
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: data + "/log/data.mdb"))
        let input = dir.path + "/more.ndjson"
        try Self.session(events: 20, seed: 4).write(toFile: input, atomically: true, encoding: .utf8)
        for arguments in [["append", "--data", data, input], ["events", "--data", data], ["verify", "--data", data],
                          ["state", "--data", data, "--account", "acct1"], ["checkpoint", "--data", data]] {
            let result = try CLIRunner.run(arguments)
            #expect(result.status == 1, "\(arguments[0])")
            #expect(result.stderr.contains("was written with log format 7") && result.stderr.contains("Upgrade recon"), "\(arguments[0]): \(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: data + "/log/data.mdb")) == before)
    }
}
