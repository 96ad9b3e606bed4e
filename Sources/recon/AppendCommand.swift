import ArgumentParser
import Glibc
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

            A file larger than --stream-above-bytes is not held in memory: it is read \
            twice in pieces, once to validate every line and id, then to append, so \
            memory stays bounded (by the ids, not the events) at the cost of decoding \
            twice. The file must not change in between (checked: each piece's \
            checksum must match). Standard input is always held in memory.

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

    @Option(help: ArgumentHelp("Files larger than this many bytes (256 MiB by default) are read in pieces, twice, instead of held in memory.", valueName: "BYTES"))
    var streamAboveBytes = 256 << 20

    func validate() throws {
        guard batchSize > 0 && batchSize <= 1_000_000 else { throw ValidationError("--batch-size must be 1...1000000") }
        guard decodeThreads >= 1 && decodeThreads <= 256 else { throw ValidationError("--decode-threads must be 1...256") }
        guard maxLineBytes > 0 else { throw ValidationError("--max-line-bytes must be positive") }
        guard streamAboveBytes > 0 else { throw ValidationError("--stream-above-bytes must be positive") }
    }

    func run() throws {
        if file != "-", let size = fileSize(file), size > streamAboveBytes {
            return try runInPieces(size: size)
        }
        let bytes = try readInput(file)
        let decoded = try bytes.withUnsafeBytes { try decode($0, firstLine: 1) }
        let log = try data.openLog()
        let inputs = Self.inputs(decoded)
        let result = try reportingStoreErrors {
            try log.appendInBatches(inputs, batchSize: batchSize) { written in
                if inputs.count > batchSize { Console.progress("append", UInt64(written), UInt64(inputs.count)) }
            }
        }
        printSummary(result)
    }

    /// A file too large to hold: every piece is decoded and its ids checked
    /// first, so a bad line or a conflicting id anywhere stores nothing; then
    /// the pieces are decoded again and appended.
    private func runInPieces(size: Int) throws {
        // An existing log is checked against; a new one is created only once the
        // whole file has proved good, as the whole-file path does.
        let existing = access(data.logDirectory + "/data.mdb", F_OK) == 0 ? try data.openLog() : nil
        let pieces = NDJSONFilePieces(path: file, pieceBytes: min(32 << 20, max(1, streamAboveBytes / 4)), maxLineBytes: maxLineBytes)
        var check = PiecewisePrecheck()
        var checksums: [UInt32] = []
        try pieces.forEach { piece, firstLine, bytesRead in
            checksums.append(CRC32C.checksum(piece))
            let inputs = Self.inputs(try decode(piece, firstLine: firstLine))
            try reportingStoreErrors { try check.check(inputs, against: existing) }
            Console.progress("check", UInt64(bytesRead), UInt64(size))
        }
        let log = try existing ?? data.openLog()
        var total = AppendResult()
        var index = 0
        try pieces.forEach { piece, firstLine, bytesRead in
            guard index < checksums.count, CRC32C.checksum(piece) == checksums[index] else { throw changed(total) }
            index += 1
            let inputs = Self.inputs(try decode(piece, firstLine: firstLine))
            let part = try reportingStoreErrors { try log.appendInBatches(inputs, batchSize: batchSize, precheck: false) }
            // Counts only: a seq per event of a file this large is what pieces avoid holding.
            total.add(part, seqs: false)
            Console.progress("append", UInt64(bytesRead), UInt64(size))
        }
        guard index == checksums.count else { throw changed(total) }
        printSummary(total)
    }

    /// The file differs between the two readings: say how much of it is stored.
    private func changed(_ stored: AppendResult) -> ExitCode {
        Console.error("error: \(file) changed while it was being appended; \(stored.appended) events of it were stored (last seq \(stored.lastSeq.map(String.init) ?? "none")); append it again to finish: what is stored counts as duplicates")
        return ExitCode(1)
    }

    private func decode(_ bytes: UnsafeRawBufferPointer, firstLine: Int) throws -> [DecodedEvent] {
        do {
            return try ParallelNDJSON.decode(bytes, firstLine: firstLine, maxLineBytes: maxLineBytes, threads: decodeThreads)
        } catch {
            Console.error("error: \(file == "-" ? "stdin" : file): \(error)")
            throw ExitCode(1)
        }
    }

    private static func inputs(_ decoded: [DecodedEvent]) -> [AppendInput] {
        decoded.map { AppendInput(event: $0.event, ingestMs: $0.ingestMs, line: $0.line) }
    }

    private func reportingStoreErrors<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let error as StoreError {
            Console.error("error: \(error)")
            throw ExitCode(1)
        }
    }

    private func printSummary(_ result: AppendResult) {
        print(#"{"appended":\#(result.appended),"duplicates":\#(result.duplicates),"first_seq":\#(result.firstSeq.map(String.init) ?? "null"),"last_seq":\#(result.lastSeq.map(String.init) ?? "null")}"#)
    }
}

/// The size of a regular file; nil for anything else (a pipe, a device), which is read whole.
private func fileSize(_ path: String) -> Int? {
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int(info.st_size)
}
