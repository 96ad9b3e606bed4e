import ArgumentParser
import ReconStore
#if canImport(Glibc)
import Glibc
#endif

/// The data folder option every command that touches the log shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The data folder holding the log.", valueName: "DIR"))
    var data: String?

    /// `--data`, else `$RECON_DATA`, else `./recon-data`.
    var directory: String {
        if let data { return data }
        if let env = getenv("RECON_DATA") { return String(cString: env) }
        return "recon-data"
    }

    /// The log's own LMDB folder inside the data folder.
    var logDirectory: String { directory + "/log" }

    /// The SQLite audit store beside the log (derived, rebuildable).
    var auditPath: String { directory + "/audit.sqlite" }

    func openAudit() throws -> AuditStore {
        do {
            return try AuditStore(path: auditPath)
        } catch {
            throw CLIError("cannot open the audit store \(auditPath): \(error)")
        }
    }

    func openLog(readOnly: Bool = false) throws -> EventLog {
        var options = EventLogOptions()
        options.readOnly = readOnly
        do {
            return try EventLog(directory: logDirectory, options: options)
        } catch {
            throw CLIError(error.description)
        }
    }
}

/// A failure to report on stderr as `error: …` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
