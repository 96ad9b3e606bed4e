import Dispatch
import ReconCore
import Synchronization

/// The records of a range, read and decoded on a thread of their own and
/// handed to the caller in order, a chunk at a time.
///
/// Decoding a record (checksum, strings, decimals, snapshot lists) is nearly
/// half of a full replay and needs nothing from the fold, so a second core
/// does it while the caller folds the chunk before: the two overlap instead of
/// adding. What the caller sees does not change: the same records in the same
/// order, and a damaged record fails after every record before it was handed
/// over, with the same error.
///
/// The reader has its own read transaction (the environment is opened with
/// `MDB_NOTLS`), so it is a snapshot of the log as the reader opened it; every
/// caller passes an explicit last seq, or wants whatever the log holds.
final class EventsDecodedAhead: @unchecked Sendable {
    /// One record: its seq, its stored chain value, and the event (nil when it
    /// belongs to an account the caller did not ask for: not decoded).
    struct Record {
        let seq: UInt64
        let chain: UInt64
        let event: LoggedEvent?
    }

    /// Written by the reader before it is queued, then only read by the caller.
    ///
    /// Its records are moved in by the reader and out by the caller, in order,
    /// each copied once each way: a record is some 340 bytes, and an array
    /// handed them over by a copy in, a reversal and a copy out (a tenth of a
    /// fold's time).
    final class Chunk: @unchecked Sendable {
        private let records = UnsafeMutablePointer<Record>.allocate(capacity: EventsDecodedAhead.chunkSize)
        /// Records moved in.
        private var count = 0
        /// Records moved out: those from here to `count` are still held.
        private var taken = 0
        /// Why reading stopped early (a damaged record, a storage error).
        var failure: (any Error)?
        /// The reader's last chunk: nothing follows it.
        var isLast = false

        deinit {
            (records + taken).deinitialize(count: count - taken)
            records.deallocate()
        }

        var isFull: Bool { count == EventsDecodedAhead.chunkSize }

        func append(_ record: consuming Record) {
            precondition(!isFull, "a chunk holds chunkSize records")
            (records + count).initialize(to: record)
            count += 1
        }

        /// The next record, moved out; nil once all were taken.
        func takeNext() -> Record? {
            guard taken < count else { return nil }
            defer { taken += 1 }
            return (records + taken).move()
        }
    }

    /// Records per chunk: the hand-over (a lock and two semaphores) costs
    /// nothing per record at this size, and the caller starts soon.
    static let chunkSize = 512
    /// Chunks decoded and not yet taken, at most: bounds the memory held ahead.
    static let chunksAhead = 4

    private let queue = Synchronization.Mutex<[Chunk]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let free = DispatchSemaphore(value: chunksAhead)
    private let stopped = Atomic<Bool>(false)
    private let reading = DispatchGroup()
    private var sawLast = false

    /// What to read: `[from, to]`; only `account`'s events decoded when given.
    struct Request: Sendable {
        var from: UInt64
        var to: UInt64
        var account: [UInt8]?
    }

    /// Calls `body` with each record of the request in seq order until it returns
    /// false.
    ///
    /// `onThisThread` reads and folds in turn on the caller's thread, as when no
    /// thread can be started (tests hold both ways to one answer).
    ///
    /// `body` owns each record, so a fold can take the event out of it without
    /// a copy (a copy retained and released every string and list of the event).
    static func scan(_ log: EventLog, _ request: Request, onThisThread: Bool = false, _ body: (consuming Record) throws -> Bool) throws {
        guard request.from <= request.to else { return }
        if !onThisThread, let ahead = start(log, request) {
            return try ahead.consume(body)
        }
        var failure: (any Error)?
        read(log, request) { chunk in
            while let record = chunk.takeNext() {
                do {
                    guard try body(consume record) else { return false }
                } catch {
                    failure = error
                    return false
                }
            }
            if let error = chunk.failure { failure = error }
            return true
        }
        if let failure { throw failure }
    }

    /// Starts reading on a new thread; nil when none could be made.
    private static func start(_ log: EventLog, _ request: Request) -> EventsDecodedAhead? {
        let ahead = EventsDecodedAhead()
        ahead.reading.enter()
        let started = startDetachedThread { [ahead] in
            read(log, request) { chunk in
                ahead.hand(chunk)
            }
            ahead.reading.leave()
        }
        guard started else {
            ahead.reading.leave()
            return nil
        }
        return ahead
    }

    /// Takes the reader's chunks in order, passing each record to `body`.
    private func consume(_ body: (consuming Record) throws -> Bool) throws {
        defer { finish() }
        while true {
            let chunk = take()
            // Each record moved out, not copied: a copy retained and released
            // every string and list of its event.
            while let record = chunk.takeNext() {
                guard try body(consume record) else { return }
            }
            if let failure = chunk.failure { throw failure }
            if chunk.isLast { return }
        }
    }

    /// Reads and decodes the request in chunks, passing each to `hand` until it
    /// returns false; the last chunk carries any failure.
    private static func read(_ log: EventLog, _ request: Request, hand: (Chunk) -> Bool) {
        var chunk = Chunk()
        do {
            try log.read { reader in
                var going = true
                try reader.scanRaw(from: request.from, to: request.to) { seq, bytes in
                    let header = try LogRecord.header(bytes, seq: seq)
                    let event: LoggedEvent?
                    if request.account.map({ LogRecord.accountMatches(bytes, $0) }) ?? true {
                        event = try LogRecord.decode(bytes, header: header, seq: seq)
                    } else {
                        event = nil
                    }
                    chunk.append(Record(seq: seq, chain: header.chain, event: event))
                    if chunk.isFull {
                        going = hand(chunk)
                        chunk = Chunk()
                    }
                    return going
                }
            }
        } catch {
            chunk.failure = error
        }
        chunk.isLast = true
        _ = hand(chunk)
    }

    /// Queues a chunk, waiting while `chunksAhead` are untaken; false once the
    /// caller has stopped taking them.
    private func hand(_ chunk: Chunk) -> Bool {
        free.wait()
        queue.withLock { $0.append(chunk) }
        filled.signal()
        return !stopped.load(ordering: .relaxed)
    }

    /// The next chunk, waiting for it.
    private func take() -> Chunk {
        filled.wait()
        let chunk = queue.withLock { $0.removeFirst() }
        free.signal()
        if chunk.isLast { sawLast = true }
        return chunk
    }

    /// Stops the reader at its next record and waits for it to end (its read
    /// transaction closed): on every way out of `scan`, so no reader outlives it.
    private func finish() {
        stopped.store(true, ordering: .relaxed)
        while !sawLast { _ = take() }
        reading.wait()
    }
}
