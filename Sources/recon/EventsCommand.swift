import ArgumentParser
import ReconCore
import ReconStore

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print events from the log as NDJSON.",
        discussion: """
            Each line carries the event's seq and ingest_ms, in a form `recon append` \
            accepts again: `recon events | recon append --data OTHER -` copies a log.
            """
    )

    @OptionGroup var data: DataOptions

    @Option(help: "First seq to print.")
    var from: UInt64 = 1

    @Option(help: "Last seq to print.")
    var to: UInt64?

    @Option(help: "Only events of this account.")
    var account: String?

    @Option(help: "Only events of this type (e.g. fill, exchange_snapshot).")
    var type: String?

    func validate() throws {
        if let type, EventType(name: type) == nil {
            throw ValidationError("unknown --type \(type); known: \(EventType.allCases.map(\.name).joined(separator: ", "))")
        }
        if let to, to < from { throw ValidationError("--to (\(to)) is before --from (\(from))") }
    }

    func run() throws {
        let log = try data.openLog(readOnly: true)
        let wanted = type.flatMap(EventType.init(name:))
        var out = OutputBuffer()
        do {
            try log.scan(from: from, to: to ?? .max) { logged in
                if let account, logged.event.account != account { return true }
                if let wanted, logged.event.type != wanted { return true }
                var line = logged.jsonLine()
                line.append(0x0A)
                out.write(line)
                return true
            }
        } catch {
            out.flush()
            throw CLIError("\(error)")
        }
        out.flush()
    }
}
