import Dispatch
import ReconCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A large batch's records, built on another core while the writer stores them.
///
/// Building a record (encoding the event, the content chain and body hash, the
/// header and its CRC) costs about as much as LMDB's id insert and put together,
/// and none of it needs the write transaction. So for a large batch a second
/// thread builds the records in order, in chunks, and the writer inserts ids and
/// puts records as each chunk is ready: the two halves overlap instead of adding.
///
/// The records are built on the assumption that every event of the batch is new.
/// Each new event advances the chain and may raise the ingest time; a duplicate
/// does neither. So the writer uses the prepared records only up to the first
/// duplicate and builds the rest of the batch itself (see
/// `EventLog.appendLocked`). A re-appended file is duplicates from its first
/// event, and pays one chunk of wasted work.
final class RecordsPreparedAhead: @unchecked Sendable {
    /// One chunk's records, laid end to end, and what the writer needs of each.
    /// Written by the builder before its semaphore is signalled, then only read.
    final class Chunk: @unchecked Sendable {
        let first: Int
        var records: ByteWriter
        /// End offset of each record in `records` (the first starts at 0).
        var ends: [Int] = []
        /// Offset in `records` of each record's content (the codec's bytes).
        var contentStarts: [Int] = []
        var bodyHashes: [UInt64] = []
        /// The chain after each record.
        var chains: [UInt64] = []

        init(first: Int, count: Int) {
            self.first = first
            records = ByteWriter(capacity: count * 512)
            ends.reserveCapacity(count)
            contentStarts.reserveCapacity(count)
            bodyHashes.reserveCapacity(count)
            chains.reserveCapacity(count)
        }

        var count: Int { ends.count }
    }

    /// Events per chunk: small enough that the writer starts soon, large enough
    /// that the hand-over (a semaphore) costs nothing per event.
    static let chunkSize = 256

    let chunkCount: Int
    private let chunks: [Chunk]
    private let ready: [DispatchSemaphore]
    private let stopped = Atomic<Bool>(false)
    private let builder = DispatchGroup()

    /// Starts building the records of `inputs` that follow a log whose last
    /// record has `chain` and `lastIngestMs`; new events without an ingest time
    /// get `clock` (never less than the last). Nil when no thread could be
    /// started: the writer then builds the batch itself.
    ///
    /// The builder has a thread of its own, not one of a pool: the writer waits
    /// for it, and a pool whose threads are all busy or waiting (the writer may be
    /// on one of them) would hold it back.
    init?(_ inputs: [AppendInput], chain: UInt64, lastIngestMs: Int64, clock: Int64) {
        let size = Self.chunkSize
        chunkCount = (inputs.count + size - 1) / size
        chunks = (0..<chunkCount).map { Chunk(first: $0 * size, count: min(size, inputs.count - $0 * size)) }
        ready = (0..<chunkCount).map { _ in DispatchSemaphore(value: 0) }
        builder.enter()
        let started = startDetachedThread { [self] in
            build(inputs, chain: chain, lastIngestMs: lastIngestMs, clock: clock)
            builder.leave()
        }
        guard started else {
            builder.leave()
            return nil
        }
    }

    private func build(_ inputs: [AppendInput], chain: UInt64, lastIngestMs: Int64, clock: Int64) {
        var chain = chain
        var lastIngest = lastIngestMs
        var content = ByteWriter(capacity: 512)
        inputs.withUnsafeBufferPointer { inputs in
            for k in 0..<chunkCount {
                if stopped.load(ordering: .relaxed) { return }
                let chunk = chunks[k]
                for i in chunk.first..<min(chunk.first + Self.chunkSize, inputs.count) {
                    content.removeAll()
                    let lists = EventCodec.encode(inputs[i].event, into: &content)
                    let (next, bodyHash) = content.withUnsafeBytes { ContentChain.nextWithBodyHash(chain, content: $0) }
                    chain = next
                    // An imported time that goes back is kept here and rejected by the writer.
                    lastIngest = EventLog.ingestMs(of: inputs[i], after: lastIngest, clock: clock)
                    content.withUnsafeBytes { LogRecord.write(content: $0, lists: lists, chain: chain, ingestMs: lastIngest, into: &chunk.records) }
                    // The content is a record's last part.
                    chunk.contentStarts.append(chunk.records.count - content.count)
                    chunk.ends.append(chunk.records.count)
                    chunk.bodyHashes.append(bodyHash)
                    chunk.chains.append(chain)
                }
                ready[k].signal()
            }
        }
    }

    /// Chunk `k`, once built (waits for it).
    func chunk(_ k: Int) -> Chunk {
        ready[k].wait()
        return chunks[k]
    }

    /// Stops the builder at its next chunk and waits for it to end; called on
    /// every way out of the writer, so no build outlives its batch.
    func finish() {
        stopped.store(true, ordering: .relaxed)
        builder.wait()
    }
}
