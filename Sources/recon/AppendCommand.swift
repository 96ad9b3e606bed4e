import ArgumentParser
import ReconCore
import ReconStore

struct AppendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Append NDJSON events to the log.",
        discussion: """
            Reads one JSON event per line from FILE (or stdin for -). The whole input is \
            validated first: on any bad line or id conflict nothing is stored, the \
            error names the line and field, and the exit code is 1.

            Re-appending an identical event is a no-op that counts as a duplicate. \
            Events exported by `recon events` keep their ingest_ms.

            Prints {"appended":N,"duplicates":M,"first_seq":A,"last_seq":B}.
            """
    )

    @OptionGroup var data: DataOptions

    @Argument(help: ArgumentHelp("NDJSON file, or - for stdin.", valueName: "FILE"))
    var file: String = "-"

    @Option(help: "Events per write transaction.")
    var batchSize = 10_000

    @Option(help: "Longest accepted line, in bytes.")
    var maxLineBytes = NDJSON.defaultMaxLineBytes

    @Option(help: ArgumentHelp("Threads that decode the input (default: one per core; inputs under 1 MB use one).", valueName: "N"))
    var decodeThreads = ParallelNDJSON.defaultThreads

    func validate() throws {
        guard batchSize > 0 && batchSize <= 1_000_000 else { throw ValidationError("--batch-size must be 1...1000000") }
        guard decodeThreads >= 1 && decodeThreads <= 256 else { throw ValidationError("--decode-threads must be 1...256") }
        guard maxLineBytes > 0 else { throw ValidationError("--max-line-bytes must be positive") }
    }

    func run() throws {
        let bytes = try readInput(file)
        let decoded: [DecodedEvent]
        do {
            decoded = try bytes.withUnsafeBytes { raw in
                try ParallelNDJSON.decode(raw, maxLineBytes: maxLineBytes, threads: decodeThreads)
            }
        } catch let error as EventInputError {
            Console.error("error: \(file == "-" ? "stdin" : file): \(error)")
            throw ExitCode(1)
        }
        let log = try data.openLog()
        let result = try appendAll(decoded, to: log)
        print(#"{"appended":\#(result.appended),"duplicates":\#(result.duplicates),"first_seq":\#(result.firstSeq.map(String.init) ?? "null"),"last_seq":\#(result.lastSeq.map(String.init) ?? "null")}"#)
    }

    private func appendAll(_ decoded: [DecodedEvent], to log: EventLog) throws -> AppendResult {
        let inputs = decoded.map { AppendInput(event: $0.event, ingestMs: $0.ingestMs, line: $0.line) }
        do {
            return try log.appendInBatches(inputs, batchSize: batchSize) { written in
                if inputs.count > batchSize { Console.progress("append", UInt64(written), UInt64(inputs.count)) }
            }
        } catch let error as StoreError {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
    }
}
