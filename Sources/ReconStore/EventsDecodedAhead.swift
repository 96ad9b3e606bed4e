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
    /// One record: its seq, its stored chain value, and its event, unless it
    /// belongs to an account the caller did not ask for (not decoded). The
    /// event is a `var` only so that it can be lent `inout` (see
    /// ``Chunk/forEach(_:)``).
    ///
    /// Not an optional event: telling an optional's case took a call per
    /// record (1.6 % of the folding thread); a flag is one byte read in place.
    struct Record {
        let seq: UInt64
        let chain: UInt64
        let isDecoded: Bool
        /// Whether the event refers to objects (a long string, a list): only
        /// then is it destroyed when the chunk is emptied (see ``Chunk/empty()``).
        let refersToObjects: Bool
        /// The event; a placeholder when not decoded.
        var event: LoggedEvent
        /// What the fold needs of the event alone, worked out here, off the
        /// folding thread; none when not decoded or not asked for.
        let facts: EventFacts

        /// What an undecoded record holds. Its strings are empty and it has no
        /// list, so it refers to no object: its bytes are a copy of it, and
        /// dropping them frees nothing (see ``Chunk/appendNotDecoded(seq:chain:)``).
        static let notDecoded = LoggedEvent(seq: 0, ingestMs: 0, event: Event(
            id: "", account: "", tsMs: 0, body: .reconRequested(ReconRequested(requestedBy: ""))))

        // Computed, so each use folds to a constant (a stored `static let` is
        // initialised lazily, and every read called `swift_once`).
        fileprivate static var seqOffset: Int { MemoryLayout<Record>.offset(of: \.seq)! }
        fileprivate static var chainOffset: Int { MemoryLayout<Record>.offset(of: \.chain)! }
        fileprivate static var isDecodedOffset: Int { MemoryLayout<Record>.offset(of: \.isDecoded)! }
        fileprivate static var refersToObjectsOffset: Int { MemoryLayout<Record>.offset(of: \.refersToObjects)! }
        fileprivate static var eventOffset: Int { MemoryLayout<Record>.offset(of: \.event)! }
        fileprivate static var factsOffset: Int { MemoryLayout<Record>.offset(of: \.facts)! }
    }

    /// Written by the reader before it is queued, then only read by the caller,
    /// and handed back to the reader once read: the reader empties it (the
    /// records' events are freed on the thread that made them) and fills it again.
    ///
    /// The caller reads each record where the reader put it, never copying it
    /// out (a record is some 340 bytes). Events freed on the fold's thread cost
    /// it a twentieth of its time: memory made on one thread and freed on
    /// another goes back through the allocator's locked path, where the two
    /// threads waited on each other.
    final class Chunk: @unchecked Sendable {
        private let records = UnsafeMutablePointer<Record>.allocate(capacity: EventsDecodedAhead.chunkSize)
        private var count = 0
        /// `Record.notDecoded`, whose bytes an undecoded record's event is. A copy
        /// per chunk, not the static itself: every read of a stored `static let`
        /// calls `swift_once`, once per undecoded record.
        private let placeholder = UnsafeMutablePointer<LoggedEvent>.allocate(capacity: 1)
        /// Why reading stopped early (a damaged record, a storage error).
        var failure: (any Error)?
        /// The reader's last chunk: nothing follows it.
        var isLast = false

        init() {
            placeholder.initialize(to: Record.notDecoded)
        }

        deinit {
            empty()
            records.deallocate()
            placeholder.deinitialize(count: 1)
            placeholder.deallocate()
        }

        var isFull: Bool { count == EventsDecodedAhead.chunkSize }

        /// Appends the record of `seq`, its event decoded by `decode` straight
        /// into the chunk's memory (a record built and then copied in was moved
        /// whole three times more).
        /// `decode` returns whether the event refers to objects.
        func append(seq: UInt64, chain: UInt64, withFacts: Bool, decode: (UnsafeMutablePointer<LoggedEvent>) throws -> Bool) rethrows {
            let event = nextEvent()
            let refersToObjects = try decode(event)
            finishAppend(seq: seq, chain: chain, isDecoded: true, refersToObjects: refersToObjects,
                         facts: withFacts ? EventFacts(of: &event.pointee.event) : EventFacts())
        }

        /// Appends the record of `seq` without decoding its event.
        ///
        /// The placeholder's bytes are copied in, not the value: it refers to no
        /// object, so that is a copy, and `empty` need not destroy it. Reading one
        /// account of a log of four, copying it as a value (the event's copy
        /// switches on its body's case) and destroying it were a fifth of the
        /// reader's time.
        func appendNotDecoded(seq: UInt64, chain: UInt64) {
            UnsafeMutableRawPointer(nextEvent()).copyMemory(from: placeholder, byteCount: MemoryLayout<LoggedEvent>.size)
            finishAppend(seq: seq, chain: chain, isDecoded: false, refersToObjects: false, facts: EventFacts())
        }

        private func nextEvent() -> UnsafeMutablePointer<LoggedEvent> {
            precondition(!isFull, "a chunk holds chunkSize records")
            return UnsafeMutableRawPointer(records + count).field(at: Record.eventOffset, as: LoggedEvent.self)
        }

        private func finishAppend(seq: UInt64, chain: UInt64, isDecoded: Bool, refersToObjects: Bool, facts: EventFacts) {
            let record = UnsafeMutableRawPointer(records + count)
            record.field(at: Record.seqOffset, as: UInt64.self).initialize(to: seq)
            record.field(at: Record.chainOffset, as: UInt64.self).initialize(to: chain)
            record.field(at: Record.isDecodedOffset, as: Bool.self).initialize(to: isDecoded)
            record.field(at: Record.refersToObjectsOffset, as: Bool.self).initialize(to: refersToObjects)
            record.field(at: Record.factsOffset, as: EventFacts.self).initialize(to: facts)
            count += 1
        }

        /// Passes each record, in place, to `body` until it returns false;
        /// false when `body` stopped.
        ///
        /// Lent `inout` though bodies only read it: a record passed by value from
        /// memory that any call might write was copied first (every string and
        /// list of its event retained and released), one lent `inout` is
        /// the body's alone while it runs, so it is read where it lies.
        func forEach(_ body: (inout Record) throws -> Bool) rethrows -> Bool {
            for index in 0..<count {
                guard try body(&records[index]) else { return false }
            }
            return true
        }

        /// Destroys the records and forgets how reading went, ready to fill again.
        /// Only records whose event refers to objects are destroyed: an undecoded
        /// record holds the placeholder's bytes, and an event whose strings are
        /// all held in place and that has no list (most orders and fills) is its
        /// bytes, so destroying it would free nothing. Destroying each such
        /// event anyway (a switch on its body, a release per string) was half
        /// of emptying a chunk.
        func empty() {
            for index in 0..<count {
                let record = UnsafeMutableRawPointer(records + index)
                if record.load(fromByteOffset: Record.refersToObjectsOffset, as: Bool.self) {
                    (records + index).deinitialize(count: 1)
                }
            }
            count = 0
            failure = nil
            isLast = false
        }
    }

    /// Records per chunk: the hand-over (a lock and two semaphores) costs
    /// nothing per record at this size, and the caller starts soon.
    static let chunkSize = 512
    /// Chunks decoded and not yet taken, at most: bounds the memory held ahead.
    static let chunksAhead = 4

    private let queue = Synchronization.Mutex<[Chunk]>([])
    /// Chunks the caller has read, for the reader to empty and fill again.
    private let spent = Synchronization.Mutex<[Chunk]>([])
    private let filled = DispatchSemaphore(value: 0)
    private let free = DispatchSemaphore(value: chunksAhead)
    private let stopped = Atomic<Bool>(false)
    private let reading = DispatchGroup()
    private var sawLast = false
    /// Chunks the reader allocated; read once it has ended.
    private var chunksMade = 0

    /// What to read: `[from, to]`; only `account`'s events decoded when given.
    struct Request: Sendable {
        var from: UInt64
        var to: UInt64
        var account: [UInt8]?
        /// Each record's `EventFacts` worked out (for a fold that takes them).
        var facts = false
    }

    /// Calls `body` with each record of the request in seq order until it returns
    /// false.
    ///
    /// `onThisThread` reads and folds in turn on the caller's thread, as when no
    /// thread can be started (tests hold both ways to one answer).
    ///
    /// `body` reads each record where the reader decoded it (see
    /// ``Chunk/forEach(_:)``); a record, and its event, is freed by the reader
    /// after `body` is done with it.
    ///
    /// Returns how many chunks were allocated: read chunks are filled again, so
    /// a scan of any length holds a few (tests hold it to that).
    @discardableResult
    static func scan(_ log: EventLog, _ request: Request, onThisThread: Bool = false, _ body: (inout Record) throws -> Bool) throws -> Int {
        guard request.from <= request.to else { return 0 }
        if !onThisThread, let ahead = start(log, request) {
            try ahead.consume(body)
            return ahead.chunksMade
        }
        var failure: (any Error)?
        let chunk = Chunk()
        read(log, request, into: { chunk.empty(); return chunk }) { chunk in
            do {
                guard try chunk.forEach(body) else { return false }
            } catch {
                failure = error
                return false
            }
            if let error = chunk.failure { failure = error }
            return true
        }
        if let failure { throw failure }
        return 1
    }

    /// Starts reading on a new thread; nil when none could be made.
    private static func start(_ log: EventLog, _ request: Request) -> EventsDecodedAhead? {
        let ahead = EventsDecodedAhead()
        ahead.reading.enter()
        let started = startDetachedThread { [ahead] in
            read(log, request, into: ahead.emptyChunk) { chunk in
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

    /// Takes the reader's chunks in order, passing each record to `body`, and
    /// hands each chunk back once read.
    private func consume(_ body: (inout Record) throws -> Bool) throws {
        defer { finish() }
        while true {
            let chunk = take()
            guard try chunk.forEach(body) else { return }
            if let failure = chunk.failure { throw failure }
            if chunk.isLast { return }
            spent.withLock { $0.append(chunk) }
        }
    }

    /// A chunk to fill: one the caller has read, emptied here, or a new one.
    private func emptyChunk() -> Chunk {
        guard let chunk = spent.withLock({ $0.popLast() }) else {
            chunksMade += 1
            return Chunk()
        }
        chunk.empty()
        return chunk
    }

    /// Reads and decodes the request into chunks from `emptyChunk`, passing
    /// each to `hand` until it returns false; the last chunk carries any failure.
    private static func read(_ log: EventLog, _ request: Request, into emptyChunk: () -> Chunk, hand: (Chunk) -> Bool) {
        var chunk = emptyChunk()
        // The chunk being filled, as a reference that is not counted: `chunk`
        // holds it. Reaching it through `chunk`, a variable the closure shares,
        // retained and released it at every record (4 % of the reading thread).
        var filling = Unmanaged.passUnretained(chunk)
        do {
            try log.read { reader in
                var going = true
                try reader.scanRaw(from: request.from, to: request.to) { seq, bytes in
                    let header = try LogRecord.header(bytes, seq: seq)
                    let full = try filling._withUnsafeGuaranteedRef { chunk in
                        if request.account.map({ LogRecord.accountMatches(bytes, header: header, $0) }) ?? true {
                            try chunk.append(seq: seq, chain: header.chain, withFacts: request.facts) { try LogRecord.decode(bytes, header: header, seq: seq, into: $0) }
                        } else {
                            chunk.appendNotDecoded(seq: seq, chain: header.chain)
                        }
                        return chunk.isFull
                    }
                    if full {
                        going = hand(chunk)
                        chunk = emptyChunk()
                        filling = Unmanaged.passUnretained(chunk)
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
