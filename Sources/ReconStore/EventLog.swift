import CLMDB
public import ReconCore
#if canImport(Glibc)
import Glibc
#endif

/// What went wrong in the store, with enough said to act on it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The input was rejected; nothing of its batch was stored.
        case badInput
        /// A known id arrived with a different body.
        case conflict
        /// Stored bytes failed their checksum or did not decode.
        case corrupt
        /// The folder was written by a newer version of Recon.
        case unsupportedVersion
        /// The folder cannot be opened or written (permissions, disk, limits).
        case storage
    }

    public var kind: Kind
    public var message: String
    /// The input line or the seq the error is about, when there is one.
    public var line: Int?
    public var seq: UInt64?

    public init(_ kind: Kind, _ message: String, line: Int? = nil, seq: UInt64? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.seq = seq
    }

    public var description: String { message }

    static func lmdb(_ error: LMDBError) -> StoreError {
        switch error.code {
        case MDB_MAP_FULL: return StoreError(.storage, "\(error.context): the log is full (\(error.message))")
        case MDB_READERS_FULL:
            return StoreError(.storage, "\(error.context): too many concurrent readers (\(error.message)); close other recon processes")
        case EACCES, EROFS:
            return StoreError(.storage, "\(error.context): permission denied; the data folder is read-only or not yours")
        case ENOSPC:
            return StoreError(.storage, "\(error.context): no space left on the device; nothing of the batch was stored")
        case EFBIG:
            return StoreError(.storage, "\(error.context): file size limit reached; nothing of the batch was stored")
        case EIO:
            // LMDB turns a short write (the disk filled up, or the file reached
            // RLIMIT_FSIZE, part way through) into EIO.
            return StoreError(.storage, "\(error.context): the write failed (\(error.message)): the disk is full, a file size limit was reached, or the device failed; nothing of the batch was stored")
        default: return StoreError(.storage, error.description)
        }
    }
}

/// One event to append, with where it came from for error messages.
public struct AppendInput: Sendable {
    public var event: Event
    /// Kept when importing another log's export; must not go back in time.
    public var ingestMs: Int64?
    /// 1-based input line, for messages.
    public var line: Int

    public init(event: Event, ingestMs: Int64? = nil, line: Int) {
        self.event = event
        self.ingestMs = ingestMs
        self.line = line
    }
}

/// The outcome of one batch.
public struct AppendResult: Sendable, Equatable {
    /// Each input's seq: new, or the original one for a duplicate.
    public var seqs: [UInt64]
    /// Whether each input was a duplicate of an event already known.
    public var duplicate: [Bool]
    public var appended: Int
    public var duplicates: Int
    /// First and last seq written by this batch; nil when nothing new was written.
    public var firstSeq: UInt64?
    public var lastSeq: UInt64?

    public init(seqs: [UInt64] = [], duplicate: [Bool] = [], appended: Int = 0, duplicates: Int = 0,
                firstSeq: UInt64? = nil, lastSeq: UInt64? = nil) {
        self.seqs = seqs
        self.duplicate = duplicate
        self.appended = appended
        self.duplicates = duplicates
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
    }

    /// Adds a later batch of the same input: counts, first and last seq, and
    /// (with `seqs`) each input's seq and duplicate flag.
    public mutating func add(_ part: AppendResult, seqs keepSeqs: Bool = true) {
        if keepSeqs {
            seqs += part.seqs
            duplicate += part.duplicate
        }
        appended += part.appended
        duplicates += part.duplicates
        firstSeq = firstSeq ?? part.firstSeq
        lastSeq = part.lastSeq ?? lastSeq
    }
}

/// Knobs of the log; defaults suit a laptop and a server alike.
public struct EventLogOptions: Sendable {
    /// Initial map size; the file is sparse, so this costs no disk up front.
    public var mapSizeBytes: Int = 1 << 30
    /// The map doubles on `MDB_MAP_FULL` up to this size, then appends fail.
    public var maxMapSizeBytes: Int = 1 << 40
    public var readOnly = false
    /// Fsync on every commit. Off only for benchmarks of the non-durable path.
    public var durable = true
    /// Batches of at least this many events have their records built on
    /// another core while they are stored; smaller ones are built inline, where
    /// the thread hand-over would cost more than it saves. Either way the log
    /// holds the same bytes.
    public var prepareAheadFrom = 1024

    public init() {}
}

/// The append-only event log: seq-keyed records in LMDB plus an id index.
///
/// Tables: `events` (big-endian seq → record), `ids` (id → seq + body hash),
/// `meta` (format version), `checkpoints` (derived projections, see
/// ``CheckpointStore``). One writer at a time (LMDB's lock across processes,
/// a mutex within one), any number of readers.
public final class EventLog: @unchecked Sendable {
    /// The record format this build writes; folders with a larger one are refused.
    /// 2: snapshot records carry their lists' lengths (``LogRecord``).
    public static let formatVersion: UInt8 = 2

    let env: LMDBEnvironment
    let events: MDB_dbi
    let ids: MDB_dbi
    let meta: MDB_dbi
    let checkpoints: MDB_dbi
    public let path: String
    private let writer = Mutex()
    private let prepareAheadFrom: Int
    /// The folder is marked with an older format than `formatVersion`: the mark
    /// is raised with the first records this build stores (guarded by `writer`),
    /// so that a recon too old for them refuses the folder instead of failing
    /// mid-read, while a folder only read by this build stays readable by it.
    private var marksAnOlderFormat = false

    /// Opens (creating if needed) the log in `directory`.
    public init(directory: String, options: EventLogOptions = EventLogOptions()) throws(StoreError) {
        path = directory
        prepareAheadFrom = options.prepareAheadFrom
        if !options.readOnly {
            Self.ignoreFileSizeSignal()
            try Self.makeDirectory(directory)
        }
        var envOptions = LMDBEnvironment.Options(mapSizeBytes: options.mapSizeBytes, maxMapSizeBytes: options.maxMapSizeBytes)
        envOptions.readOnly = options.readOnly
        do {
            env = try LMDBEnvironment(path: directory, options: envOptions)
            if !options.durable { mdb_env_set_flags(env.handle, UInt32(MDB_NOSYNC), 1) }
            let txn = try LMDBTransaction(env, readOnly: options.readOnly)
            let create = !options.readOnly
            events = try txn.openDatabase("events", create: create)
            ids = try txn.openDatabase("ids", create: create)
            meta = try txn.openDatabase("meta", create: create)
            checkpoints = try txn.openDatabase("checkpoints", create: create)
            let stored = try Self.storedFormat(txn, meta)
            if let stored, stored > Self.formatVersion {
                txn.abort()
                throw StoreError(.unsupportedVersion,
                                 "the data folder \(directory) was written with log format \(stored); this recon reads up to \(Self.formatVersion). Upgrade recon.")
            }
            if stored == nil && !options.readOnly {
                try Self.markFormat(txn, meta)
            }
            marksAnOlderFormat = stored.map { $0 < Self.formatVersion } ?? false
            // Committing (even a read-only transaction) keeps the table handles
            // open for the environment's life; aborting would close them.
            try txn.commit()
        } catch let error as StoreError {
            throw error
        } catch let error as LMDBError {
            if error.code == ENOENT {
                throw StoreError(.storage, "no log at \(directory) (create one with `recon append`)")
            }
            throw StoreError.lmdb(error)
        } catch {
            throw StoreError(.storage, "\(error)")
        }
    }

    /// A write that starts past RLIMIT_FSIZE raises SIGXFSZ, whose default action
    /// kills the process mid-append. Ignored, the write fails with EFBIG instead,
    /// and the append reports it as an error (the log is intact either way: the
    /// commit never happened). Done once, and only while the disposition is still
    /// the default, so a host program's own handler is left alone.
    private static func ignoreFileSizeSignal() {
        _ = fileSizeSignalIgnored
    }

    private static let fileSizeSignalIgnored: Bool = {
        // SIG_DFL is nil in Swift; any other previous handler is the host's: put it back.
        if let previous = signal(SIGXFSZ, SIG_IGN) {
            _ = signal(SIGXFSZ, previous)
            return false
        }
        return true
    }()

    private static func makeDirectory(_ path: String) throws(StoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw StoreError(.storage, "cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    // MARK: Appending

    /// Appends a batch in one write transaction: all of it, or (on any error) none.
    ///
    /// A re-sent identical event is a duplicate that returns its original seq; the
    /// same id with a different body rejects the whole batch.
    public func append(_ inputs: [AppendInput], now: () -> Int64 = wallClockMs) throws(StoreError) -> AppendResult {
        try writer.withLock { () throws(StoreError) -> AppendResult in
            while true {
                do {
                    return try env.resizeLock.withReadLock { () throws -> AppendResult in
                        try appendLocked(inputs, now: now)
                    }
                } catch let error as LMDBError where error.code == MDB_MAP_FULL {
                    do {
                        try env.grow()
                    } catch let growError as LMDBError {
                        throw StoreError.lmdb(growError)
                    } catch {
                        throw StoreError(.storage, "\(error)")
                    }
                } catch let error as LMDBError where error.code == MDB_MAP_RESIZED {
                    try adoptResize()
                } catch let error as LMDBError {
                    throw StoreError.lmdb(error)
                } catch let error as StoreError {
                    throw error
                } catch {
                    throw StoreError(.storage, "\(error)")
                }
            }
        }
    }

    /// The `meta` key of the folder's format mark.
    private static let formatMetaKey = Array("format".utf8)

    /// The folder's format mark; nil when it has none (a new folder).
    private static func storedFormat(_ txn: borrowing LMDBTransaction, _ meta: MDB_dbi) throws -> UInt8? {
        try formatMetaKey.withUnsafeBytes { k in try txn.get(meta, key: k) { $0.first ?? 0 } }
    }

    /// Records the format this build writes as the folder's.
    private static func markFormat(_ txn: borrowing LMDBTransaction, _ meta: MDB_dbi) throws {
        try formatMetaKey.withUnsafeBytes { k in
            try [formatVersion].withUnsafeBytes { v in try txn.put(meta, key: k, value: v, flags: 0) }
        }
    }

    /// A batch of `options.prepareAheadFrom` events or more has its records built
    /// on another core as it is stored (``RecordsPreparedAhead``), up to its first
    /// duplicate; the rest, and every smaller batch, is built here event by event.
    /// Both ways store the same bytes.
    private func appendLocked(_ inputs: [AppendInput], now: () -> Int64) throws -> AppendResult {
        let txn = try LMDBTransaction(env, readOnly: false)
        let tail = try readTail(txn)
        var progress = AppendProgress(tail: tail, clock: now(), count: inputs.count)
        var next = 0
        if inputs.count >= prepareAheadFrom,
           let ahead = RecordsPreparedAhead(inputs, chain: tail.chain, lastIngestMs: tail.ingestMs, clock: progress.clock) {
            defer { ahead.finish() }
            next = try inputs.withUnsafeBufferPointer { inputs in
                try appendPrepared(ahead, inputs, txn, &progress)
            }
        }
        if next < inputs.count {
            var record = ByteWriter(capacity: 512)
            var content = ByteWriter(capacity: 512)
            // Through a buffer pointer: an array subscript copied the whole input (a
            // retain of every string of its event) to read one field of it.
            try inputs.withUnsafeBufferPointer { inputs in
                for i in next..<inputs.count {
                    content.removeAll()
                    let lists = EventCodec.encode(inputs[i].event, into: &content)
                    // The chain link and the body hash in one pass over the content; the
                    // link is wasted on a duplicate, which is rare and costs nothing extra.
                    let (nextChain, bodyHash) = content.withUnsafeBytes { ContentChain.nextWithBodyHash(progress.chain, content: $0) }
                    let isNew = try content.withUnsafeBytes { content in
                        try insert(inputs[i], bodyHash: bodyHash, content: content, txn, &progress)
                    }
                    guard isNew else { continue }
                    let ingestMs = try progress.ingestMs(for: inputs[i])
                    record.removeAll()
                    content.withUnsafeBytes { LogRecord.write(content: $0, lists: lists, chain: nextChain, ingestMs: ingestMs, into: &record) }
                    try record.withUnsafeBytes { try put($0, txn, &progress, chain: nextChain, ingestMs: ingestMs) }
                }
            }
        }
        if progress.result.appended == 0 {
            txn.abort()
        } else {
            if marksAnOlderFormat { try Self.markFormat(txn, meta) }
            try txn.commit()
            marksAnOlderFormat = false
        }
        return progress.result
    }

    /// Stores prepared records until the first duplicate; returns the index of
    /// the first input still to append (the batch's size when all were new).
    private func appendPrepared(_ ahead: RecordsPreparedAhead, _ inputs: UnsafeBufferPointer<AppendInput>,
                                _ txn: borrowing LMDBTransaction, _ progress: inout AppendProgress) throws -> Int {
        for k in 0..<ahead.chunkCount {
            let chunk = ahead.chunk(k)
            let stop: Int? = try chunk.records.withUnsafeBytes { records in
                var start = 0
                for j in 0..<chunk.count {
                    let i = chunk.first + j
                    let record = UnsafeRawBufferPointer(rebasing: records[start..<chunk.ends[j]])
                    start = chunk.ends[j]
                    let content = UnsafeRawBufferPointer(rebasing: records[chunk.contentStarts[j]..<chunk.ends[j]])
                    guard try insert(inputs[i], bodyHash: chunk.bodyHashes[j], content: content, txn, &progress) else {
                        return i + 1
                    }
                    // Up to here every event was new, so the record was built with the
                    // chain and ingest time it would have been built with here.
                    let ingestMs = try progress.ingestMs(for: inputs[i])
                    try put(record, txn, &progress, chain: chunk.chains[j], ingestMs: ingestMs)
                }
                return nil
            }
            if let stop { return stop }
        }
        return inputs.count
    }

    /// Enters an input's id in the index; false when the id was known with the
    /// same body (a duplicate, recorded in `progress`); throws when known with
    /// another body.
    private func insert(_ input: AppendInput, bodyHash: UInt64, content: UnsafeRawBufferPointer,
                        _ txn: borrowing LMDBTransaction, _ progress: inout AppendProgress) throws -> Bool {
        // The id goes in first: a known id (from an earlier batch, or earlier in
        // this one, whose record this transaction already holds) comes back with
        // its entry, and nothing is written for it. An entry is the seq and the
        // body hash, each big-endian.
        var entry = ((progress.lastSeq + 1).bigEndian, bodyHash.bigEndian)
        var id = input.event.id
        let existing: (seq: UInt64, hash: UInt64)? = try id.withUTF8 { k in
            try withUnsafeBytes(of: &entry) { v in
                try txn.insert(ids, key: UnsafeRawBufferPointer(k), value: v) { stored in
                    guard stored.count == 16 else { throw StoreError(.corrupt, "id index entry of \"\(input.event.id)\" is damaged") }
                    return (UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: stored[0..<8])),
                            UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: stored[8..<16])))
                }
            }
        }
        guard let existing else { return true }
        let same = try existing.hash == bodyHash && storedContent(txn, seq: existing.seq).elementsEqual(content)
        guard same else { throw conflict(input, seq: existing.seq) }
        progress.duplicate(of: existing.seq)
        return false
    }

    /// Puts the next record (MDB_APPEND: seqs only grow).
    private func put(_ record: UnsafeRawBufferPointer, _ txn: borrowing LMDBTransaction, _ progress: inout AppendProgress,
                     chain: UInt64, ingestMs: Int64) throws {
        let key = (progress.lastSeq + 1).bigEndianBytes
        try key.withUnsafeBytes { k in try txn.put(events, key: k, value: record, flags: MDB_APPEND) }
        progress.appended(chain: chain, ingestMs: ingestMs)
    }

    private func conflict(_ input: AppendInput, seq: UInt64) -> StoreError {
        StoreError(.conflict, "line \(input.line): field \"id\": \"\(input.event.id)\" is already in the log at seq \(seq) with a different body; nothing of this batch was stored",
                   line: input.line, seq: seq)
    }

    private struct Tail {
        var seq: UInt64 = 0
        var ingestMs: Int64 = 0
        var chain: UInt64 = ContentChain.start
    }

    /// The ingest time a new event gets: its own when imported, else the batch's
    /// clock, never less than the last. (The writer also refuses an imported time
    /// that goes back; see `AppendProgress.ingestMs(for:)`.)
    static func ingestMs(of input: AppendInput, after last: Int64, clock: Int64) -> Int64 {
        input.ingestMs ?? max(last, clock)
    }

    /// How far a batch has got: the log's tail as it grows, and the result.
    private struct AppendProgress {
        var lastSeq: UInt64
        var lastIngest: Int64
        var chain: UInt64
        /// The wall clock once per batch: every new event of it without an
        /// ingest time gets the same one (never less than the last).
        let clock: Int64
        var result = AppendResult()

        init(tail: Tail, clock: Int64, count: Int) {
            lastSeq = tail.seq
            lastIngest = tail.ingestMs
            chain = tail.chain
            self.clock = clock
            result.seqs.reserveCapacity(count)
            result.duplicate.reserveCapacity(count)
        }

        /// The next new event's ingest time: its own when imported, which must
        /// not go back in time, else the clock.
        func ingestMs(for input: AppendInput) throws(StoreError) -> Int64 {
            let ingest = EventLog.ingestMs(of: input, after: lastIngest, clock: clock)
            // Only an imported time can go back; the clock's is never below the last.
            guard ingest >= lastIngest else {
                throw StoreError(.badInput, "line \(input.line): field \"ingest_ms\": \(ingest) is before the log's last ingest time \(lastIngest); imported history must keep its order",
                                 line: input.line)
            }
            return ingest
        }

        mutating func appended(chain: UInt64, ingestMs: Int64) {
            lastSeq += 1
            self.chain = chain
            lastIngest = ingestMs
            result.seqs.append(lastSeq)
            result.duplicate.append(false)
            result.appended += 1
            if result.firstSeq == nil { result.firstSeq = lastSeq }
            result.lastSeq = lastSeq
        }

        mutating func duplicate(of seq: UInt64) {
            result.seqs.append(seq)
            result.duplicate.append(true)
            result.duplicates += 1
        }
    }

    private func readTail(_ txn: borrowing LMDBTransaction) throws -> Tail {
        let cursor = try LMDBCursor(txn, events)
        guard let last = try cursor.move(MDB_LAST) else { return Tail() }
        let seq = UInt64(bigEndianBytes: last.key)
        let header = try LogRecord.header(last.value, seq: seq)
        return Tail(seq: seq, ingestMs: header.ingestMs, chain: header.chain)
    }

    private func storedContent(_ txn: borrowing LMDBTransaction, seq: UInt64) throws -> [UInt8] {
        let key = seq.bigEndianBytes
        let content: [UInt8]? = try key.withUnsafeBytes { k in
            try txn.get(events, key: k) { v in
                let header = try LogRecord.header(v, seq: seq)
                return Array(v[header.contentOffset...])
            }
        }
        guard let content else { throw StoreError(.corrupt, "the id index points at seq \(seq), which is missing", seq: seq) }
        return content
    }

    // MARK: Reading

    /// Runs `body` inside one read transaction (a consistent snapshot of the log).
    public func read<R>(_ body: (LogReader) throws -> R) throws -> R {
        while true {
            let attempt = try env.resizeLock.withReadLock { () throws -> ReadAttempt<R> in
                let txn: LMDBTransaction
                do {
                    txn = try LMDBTransaction(env, readOnly: true)
                } catch let error as LMDBError {
                    if error.code == MDB_MAP_RESIZED { return .resized }
                    // Readers full, a damaged lock file: say so in the store's words.
                    throw StoreError.lmdb(error)
                }
                let reader = LogReader(log: self, txn: txn.handle)
                defer { withExtendedLifetime(reader) {} }
                let result = try body(reader)
                txn.abort()
                return .done(result)
            }
            switch attempt {
            case .done(let result): return result
            case .resized: try adoptResize()  // outside the shared lock, then again
            }
        }
    }

    /// Adopts the map size another process set; call holding no resize lock.
    func adoptResize() throws(StoreError) {
        do {
            try env.adoptResize()
        } catch {
            throw StoreError.lmdb(error)
        }
    }

    /// The last seq, 0 for an empty log.
    public func lastSeq() throws(StoreError) -> UInt64 {
        do {
            return try read { try $0.lastSeq() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.storage, "\(error)")
        }
    }

    /// The event at `seq`, nil past the end.
    public func event(at seq: UInt64) throws -> LoggedEvent? {
        try read { try $0.event(at: seq) }
    }

    /// Calls `body` for each event in `[from, to]` in seq order until it returns
    /// false; the events are decoded on another core (``EventsDecodedAhead``).
    ///
    /// Each event is lent `inout` so that it is read where it was decoded, not
    /// copied; a change to it is discarded.
    public func scan(from: UInt64 = 1, to: UInt64 = .max, _ body: (inout LoggedEvent) throws -> Bool) throws {
        try EventsDecodedAhead.scan(self, EventsDecodedAhead.Request(from: from, to: to, account: nil)) { record in
            try body(&record.event)
        }
    }

    /// Clears reader slots left by killed processes; returns how many it cleared.
    @discardableResult
    public func clearStaleReaders() -> Int { env.clearStaleReaders() }

    /// The current map size in bytes (it grows on demand).
    public var mapSizeBytes: Int { env.mapSizeBytes }
}

/// A read's outcome: its result, or "the map was resized: adopt and try again".
private enum ReadAttempt<R> {
    case done(R)
    case resized
}

/// The wall clock in milliseconds: the store's one clock, for `ingest_ms`.
public func wallClockMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Reads inside one read transaction; valid only inside ``EventLog/read(_:)``.
public final class LogReader {
    let log: EventLog
    let txn: OpaquePointer
    /// The mapped bytes of the data file up to its last page. Every key and value
    /// LMDB returns to a read transaction lies inside; one that does not comes
    /// from a damaged node header, and reading it would run past the end of the
    /// file (SIGBUS) or return another record's bytes.
    private let mapped: [Range<UInt>]

    init(log: EventLog, txn: OpaquePointer) {
        self.log = log
        self.txn = txn
        mapped = log.env.mappedFileBytes()
    }

    /// The bytes of `value`, or a `corrupt` error when they do not lie in the file.
    private func inFile(_ value: MDB_val, _ what: @autoclosure () -> String, seq: UInt64? = nil) throws(StoreError) -> UnsafeRawBufferPointer {
        let start = UInt(bitPattern: value.mv_data)
        guard mapped.contains(where: { start >= $0.lowerBound && start <= $0.upperBound && value.mv_size <= $0.upperBound - start }) else {
            throw StoreError(.corrupt, "\(what()): points outside the data file (\(value.mv_size) bytes); the file is damaged (run `recon verify`)", seq: seq)
        }
        return UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)
    }

    /// The seq a key names; a key that is not 8 bytes is damage.
    private func seqKey(_ key: MDB_val) throws(StoreError) -> UInt64 {
        let bytes = try inFile(key, "a key of the events table")
        guard bytes.count == 8 else {
            throw StoreError(.corrupt, "a key of the events table has \(bytes.count) bytes, expected 8; the file is damaged (run `recon verify`)")
        }
        return UInt64(bigEndianBytes: bytes)
    }

    private func cursor(_ dbi: MDB_dbi) throws(LMDBError) -> OpaquePointer {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening a cursor")
        return cursor!
    }

    public func lastSeq() throws -> UInt64 {
        let c = try cursor(log.events)
        defer { mdb_cursor_close(c) }
        var k = MDB_val(), v = MDB_val()
        let code = mdb_cursor_get(c, &k, &v, MDB_LAST)
        if code == MDB_NOTFOUND { return 0 }
        try check(code, "reading the last record")
        return try seqKey(k)
    }

    /// The raw record bytes at `seq`, valid only inside `body`.
    public func withRecord<R>(at seq: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        var keyValue = seq.bigEndian
        var v = MDB_val()
        let code = withUnsafeMutableBytes(of: &keyValue) { key in
            var k = MDB_val(mv_size: 8, mv_data: key.baseAddress)
            return mdb_get(txn, log.events, &k, &v)
        }
        if code == MDB_NOTFOUND {
            // Seqs have no gaps: one missing inside the log's range is damage, not absence.
            if seq >= 1, let last = try? lastSeq(), seq <= last {
                throw StoreError(.corrupt, "seq \(seq): missing though the log runs to seq \(last); the log is damaged (run `recon verify`)", seq: seq)
            }
            return nil
        }
        try check(code, "reading seq \(seq)")
        return try body(inFile(v, "seq \(seq)", seq: seq))
    }

    public func event(at seq: UInt64) throws -> LoggedEvent? {
        try withRecord(at: seq) { try LogRecord.decode($0, seq: seq) }
    }

    /// The ingest time of `seq` (reads only the record header).
    public func ingestMs(at seq: UInt64) throws -> Int64? {
        try withRecord(at: seq) { try LogRecord.header($0, seq: seq).ingestMs }
    }

    /// The content chain hash at `seq` (0 → the empty log's seed): it identifies the
    /// log's content up to and including that seq.
    public func chainHash(at seq: UInt64) throws -> UInt64 {
        if seq == 0 { return ContentChain.start }
        guard let chain = try withRecord(at: seq, { try LogRecord.header($0, seq: seq).chain }) else {
            throw StoreError(.badInput, "seq \(seq) is past the end of the log")
        }
        return chain
    }

    /// The largest seq whose `ingest_ms` ≤ `timeMs` (0 if none): "what the log knew at T".
    /// Binary search over record headers: ingest times never decrease.
    public func seq(atIngestMs timeMs: Int64) throws -> UInt64 {
        var low: UInt64 = 0
        var high = try lastSeq()
        while low < high {
            let mid = low + (high - low + 1) / 2
            guard let ingest = try ingestMs(at: mid) else { break }
            if ingest <= timeMs { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// Decoded events in `[from, to]`, in order, until `body` returns false, all on
    /// the caller's thread inside this transaction (`EventLog.scan` decodes on a
    /// thread of its own; this is what its tests hold it to).
    public func scan(from: UInt64, to: UInt64 = .max, _ body: (LoggedEvent) throws -> Bool) throws {
        try scanRaw(from: from, to: to) { seq, bytes in try body(try LogRecord.decode(bytes, seq: seq)) }
    }

    /// Raw records in `[from, to]`; the bytes are valid only inside `body`.
    ///
    /// Seqs must follow one another without a gap (invariant 1): a missing or
    /// out-of-order key is damage and throws `corrupt` naming the seq, so a
    /// reader never folds a log with a hole in it. `verify` passes
    /// `checkOrder: false` to list such faults instead.
    public func scanRaw(from: UInt64, to: UInt64 = .max, checkOrder: Bool = true,
                        _ body: (UInt64, UnsafeRawBufferPointer) throws -> Bool) throws {
        guard from <= to else { return }
        let c = try cursor(log.events)
        defer { mdb_cursor_close(c) }
        var keyValue = max(from, 1).bigEndian
        var k = MDB_val()
        var v = MDB_val()
        var code = withUnsafeMutableBytes(of: &keyValue) { key in
            k = MDB_val(mv_size: 8, mv_data: key.baseAddress)
            // On success LMDB points k at its own copy of the key, so keyValue may go.
            return mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)
        }
        var expected = max(from, 1)
        while code == 0 {
            let seq = try seqKey(k)
            if checkOrder && seq != expected && seq <= to {
                throw StoreError(.corrupt, "seq \(expected): missing from the log (seq \(seq) found in its place); the log is damaged (run `recon verify`)",
                                 seq: expected)
            }
            if seq > to { return }
            expected = seq &+ 1
            guard try body(seq, inFile(v, "seq \(seq)", seq: seq)) else { return }
            code = mdb_cursor_get(c, &k, &v, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "scanning the log") }
    }

    /// The id index entry for `id`: its seq and body hash.
    public func indexEntry(id: String) throws -> (seq: UInt64, hash: UInt64)? {
        let key = Array(id.utf8)
        return try key.withUnsafeBytes { kb in
            var k = MDB_val(mv_size: kb.count, mv_data: UnsafeMutableRawPointer(mutating: kb.baseAddress))
            var v = MDB_val()
            let code = mdb_get(txn, log.ids, &k, &v)
            if code == MDB_NOTFOUND { return nil }
            try check(code, "reading the id index")
            let value = try inFile(v, "id index entry for \"\(id)\"")
            guard value.count == 16 else { throw StoreError(.corrupt, "id index entry for \"\(id)\" has \(value.count) bytes, expected 16") }
            return (UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: value[0..<8])),
                    UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: value[8..<16])))
        }
    }

    /// How many entries the id index holds.
    public func indexCount() throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(txn, log.ids, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Every id index entry, in key order.
    public func scanIndex(_ body: (String, UInt64) throws -> Void) throws {
        let c = try cursor(log.ids)
        defer { mdb_cursor_close(c) }
        var k = MDB_val(), v = MDB_val()
        var code = mdb_cursor_get(c, &k, &v, MDB_FIRST)
        while code == 0 {
            let id = String(decoding: UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), as: UTF8.self)
            let value = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
            let seq = value.count >= 8 ? UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: value[0..<8])) : 0
            try body(id, seq)
            code = mdb_cursor_get(c, &k, &v, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "scanning the id index") }
    }
}

/// The stored record: a header around the codec's content bytes.
///
/// `version:u8 crc32c:u32le chain:u64le ingest_ms:svarint lists content…`, where
/// the CRC covers everything after itself, and `chain` hashes the content of
/// every record up to this one (not `ingest_ms`), so two logs with the same
/// events in the same order have the same chain whatever their import times.
///
/// `lists` (format 2; absent in format 1, whose records stay readable) is a
/// snapshot's ``SnapshotListLengths``: a flag byte (bit 0 the positions' length
/// follows, bit 1 the open orders'), then each length as a varint; `0` for a
/// snapshot without lists and for every other event.
public enum LogRecord {
    static let crcOffset = 1
    static let chainOffset = 5
    /// The first format whose header carries the snapshot list lengths.
    static let listLengthsVersion: UInt8 = 2

    public struct Header {
        public var version: UInt8
        public var chain: UInt64
        public var ingestMs: Int64
        public var listLengths: SnapshotListLengths
        public var contentOffset: Int
    }

    /// `lists` are the content's, as ``EventCodec/encode(_:into:)`` returned them
    /// (or ``SnapshotListLengths/measure(_:)`` finds them).
    static func write(content: UnsafeRawBufferPointer, lists: SnapshotListLengths, chain: UInt64, ingestMs: Int64,
                      into w: inout ByteWriter) {
        let start = w.count
        w.u8(EventLog.formatVersion)
        w.u32le(0)
        w.u64le(chain)
        w.svarint(ingestMs)
        w.u8((lists.positions == nil ? 0 : 1) | (lists.openOrders == nil ? 0 : 2))
        if let positions = lists.positions { w.varint(UInt64(positions)) }
        if let openOrders = lists.openOrders { w.varint(UInt64(openOrders)) }
        w.append(content)
        let crc = w.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + chainOffset)...])) }
        w.setU32le(crc, at: start + crcOffset)
    }

    /// Parses the header, checking version (not the CRC; see ``verifyChecksum``).
    public static func header(_ bytes: UnsafeRawBufferPointer, seq: UInt64) throws(StoreError) -> Header {
        var r = ByteReader(bytes)
        do {
            let version = try r.u8()
            guard version >= 1 && version <= EventLog.formatVersion else {
                throw StoreError(.unsupportedVersion, "seq \(seq): record format \(version) is newer than this recon reads (\(EventLog.formatVersion))", seq: seq)
            }
            _ = try r.u32le()
            let chain = try r.u64le()
            let ingest = try r.svarint()
            var lists = SnapshotListLengths.none
            if version >= listLengthsVersion {
                let flags = try r.u8()
                guard flags <= 3 else { throw CodecError.malformed("list length flags \(flags)") }
                if flags & 1 != 0 { lists.positions = try r.length() }
                if flags & 2 != 0 { lists.openOrders = try r.length() }
            }
            return Header(version: version, chain: chain, ingestMs: ingest, listLengths: lists, contentOffset: r.offset)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.corrupt, "seq \(seq): \(error)", seq: seq)
        }
    }

    /// Whether the record's account equals `account`, read without decoding the
    /// event; `header` is the record's, already read. A record too short to
    /// hold an account matches: decoding it reports the damage.
    static func accountMatches(_ bytes: UnsafeRawBufferPointer, header: Header, _ account: [UInt8]) -> Bool {
        var r = ByteReader(bytes, offset: header.contentOffset)
        guard (try? r.u8()) != nil, let idLength = try? r.length() else { return true }
        var a = ByteReader(bytes, offset: r.offset + idLength)
        guard let length = try? a.length(), length == account.count else { return false }
        guard length > 0, a.offset + length <= bytes.count else { return true }
        return account.withUnsafeBytes { memcmp(bytes.baseAddress! + a.offset, $0.baseAddress!, length) == 0 }
    }

    /// True when the stored CRC32C matches the bytes.
    public static func verifyChecksum(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count > chainOffset else { return false }
        var stored: UInt32 = 0
        for k in 0..<4 { stored |= UInt32(bytes[crcOffset + k]) << UInt32(8 * k) }
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[chainOffset...])) == stored
    }

    /// Decodes a record, checking its checksum first: a damaged record fails
    /// loudly with its seq, never returns wrong data.
    public static func decode(_ bytes: UnsafeRawBufferPointer, seq: UInt64) throws(StoreError) -> LoggedEvent {
        guard verifyChecksum(bytes) else { throw damaged(seq) }
        return try decodeContent(bytes, header: try header(bytes, seq: seq), seq: seq)
    }

    private static func decodeContent(_ bytes: UnsafeRawBufferPointer, header: Header, seq: UInt64) throws(StoreError) -> LoggedEvent {
        try movedOut { (memory) throws(StoreError) in try decodeContent(bytes, header: header, seq: seq, into: memory) }
    }

    /// The same, for a caller that has parsed the header already, decoded into
    /// `memory` (uninitialized, and left so on a throw): a reader decodes into
    /// the place the event is read from. Returns whether decoding made objects
    /// (`ByteReader.madeObjects`): an event that refers to none need not be
    /// destroyed.
    @discardableResult
    public static func decode(_ bytes: UnsafeRawBufferPointer, header: Header, seq: UInt64,
                              into memory: UnsafeMutablePointer<LoggedEvent>) throws(StoreError) -> Bool {
        guard verifyChecksum(bytes) else { throw damaged(seq) }
        return try decodeContent(bytes, header: header, seq: seq, into: memory)
    }

    @discardableResult
    private static func decodeContent(_ bytes: UnsafeRawBufferPointer, header: Header, seq: UInt64,
                                      into memory: UnsafeMutablePointer<LoggedEvent>) throws(StoreError) -> Bool {
        var r = ByteReader(bytes, offset: header.contentOffset)
        do {
            try EventCodec.decode(&r, seq: seq, ingestMs: header.ingestMs, listLengths: header.listLengths, into: memory)
            guard r.remaining == 0 else {
                memory.deinitialize(count: 1)
                throw CodecError.malformed("\(r.remaining) trailing bytes")
            }
            return r.madeObjects
        } catch {
            throw StoreError(.corrupt, "seq \(seq): \(error)", seq: seq)
        }
    }

    private static func damaged(_ seq: UInt64) -> StoreError {
        StoreError(.corrupt, "seq \(seq): checksum mismatch; the record is damaged (run `recon verify`)", seq: seq)
    }
}
