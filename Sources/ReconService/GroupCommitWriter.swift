import Foundation
import ReconCore
public import ReconStore

/// Why an ingest request was not committed.
public enum IngestError: Error, Sendable {
    /// The write queue is full: the caller should retry after a pause (503).
    case busy(queuedEvents: Int)
    /// The writer is stopping (shutdown in progress).
    case stopping
    /// The store refused the request (bad input, id conflict, storage failure).
    case store(StoreError)
}

/// Gathers concurrent append requests into one LMDB write transaction.
///
/// One dedicated thread owns every write: requests queue up while a commit (and
/// its fsync) is in flight, and the next commit takes all of them at once, so
/// one fsync serves many requests. The queue is bounded in events; past the
/// bound `submit` fails at once with ``IngestError/busy`` instead of buffering
/// without end. A caller is resumed only after its events are durable.
///
/// A group whose combined batch is refused (an id conflict or a bad `ingest_ms`
/// in one request) is retried one request per transaction, so one request's bad
/// event never fails another's.
public final class GroupCommitWriter: @unchecked Sendable {
    /// Limits, each with what happens at it.
    public struct Limits: Sendable {
        /// Events waiting for a commit; beyond this, requests get 503.
        public var maxQueuedEvents = 200_000
        /// Events per write transaction; a larger group waits for the next one.
        public var maxEventsPerCommit = 50_000

        public init() {}
    }

    /// One committed group, for metrics and the reconcile engine.
    public struct Commit: Sendable {
        public var requests: Int
        public var events: Int
        public var appended: Int
        public var lastSeq: UInt64?
        /// Type names of the events newly appended, with counts.
        public var appendedByType: [String: Int]
        public var seconds: Double
    }

    private struct Pending {
        var inputs: [AppendInput]
        var continuation: CheckedContinuation<AppendResult, any Error>
    }

    private let log: EventLog
    private let limits: Limits
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [Pending] = []
    private var queuedEvents = 0
    private var stopping = false
    private var finished = false
    private var thread: Thread?
    private let onCommit: @Sendable (Commit) -> Void

    public init(log: EventLog, limits: Limits = Limits(), onCommit: @escaping @Sendable (Commit) -> Void = { _ in }) {
        self.log = log
        self.limits = limits
        self.onCommit = onCommit
    }

    /// Starts the writer thread.
    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "recon-writer"
        thread.qualityOfService = .userInitiated
        self.thread = thread
        thread.start()
    }

    /// Events waiting for a commit now.
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedEvents
    }

    /// Appends `inputs` durably; returns each input's seq once the commit is synced.
    public func submit(_ inputs: [AppendInput]) async throws -> AppendResult {
        if inputs.isEmpty { return AppendResult() }
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            if stopping {
                condition.unlock()
                continuation.resume(throwing: IngestError.stopping)
                return
            }
            // A single request larger than the whole queue could never fit; let it
            // in alone rather than refuse it forever (the body limit bounds it).
            if queuedEvents > 0 && queuedEvents + inputs.count > limits.maxQueuedEvents {
                let depth = queuedEvents
                condition.unlock()
                continuation.resume(throwing: IngestError.busy(queuedEvents: depth))
                return
            }
            queue.append(Pending(inputs: inputs, continuation: continuation))
            queuedEvents += inputs.count
            condition.signal()
            condition.unlock()
        }
    }

    /// Refuses new requests, commits every queued one, and waits for the thread.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished && thread != nil {
            condition.wait()
        }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                condition.wait()
            }
            if queue.isEmpty && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            var group: [Pending] = []
            var events = 0
            while let first = queue.first, group.isEmpty || events + first.inputs.count <= limits.maxEventsPerCommit {
                group.append(queue.removeFirst())
                events += first.inputs.count
            }
            condition.unlock()
            commit(group, events: events)
            condition.lock()
            queuedEvents -= events
            condition.unlock()
        }
    }

    private func commit(_ group: [Pending], events: Int) {
        let started = DispatchTime.now().uptimeNanoseconds
        var outcomes: [Result<AppendResult, StoreError>]
        if group.count == 1 {
            outcomes = [Self.append(log, group[0].inputs)]
        } else {
            var combined: [AppendInput] = []
            combined.reserveCapacity(events)
            for p in group { combined.append(contentsOf: p.inputs) }
            switch Self.append(log, combined) {
            case .success(let all):
                outcomes = []
                var offset = 0
                for p in group {
                    let n = p.inputs.count
                    let seqs = Array(all.seqs[offset..<offset + n])
                    let dup = Array(all.duplicate[offset..<offset + n])
                    outcomes.append(.success(Self.result(seqs: seqs, duplicate: dup)))
                    offset += n
                }
            case .failure:
                // One request spoiled the group: commit each on its own so only
                // the bad one fails. Rare (a conflict or a bad ingest_ms).
                outcomes = group.map { Self.append(log, $0.inputs) }
            }
        }
        var commit = Commit(requests: group.count, events: events, appended: 0, lastSeq: nil, appendedByType: [:], seconds: 0)
        for (pending, outcome) in zip(group, outcomes) {
            if case .success(let r) = outcome {
                commit.appended += r.appended
                if let last = r.lastSeq { commit.lastSeq = max(commit.lastSeq ?? 0, last) }
                for (input, dup) in zip(pending.inputs, r.duplicate) where !dup {
                    commit.appendedByType[input.event.type.name, default: 0] += 1
                }
            }
        }
        commit.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        // Readers (the engine) learn of the commit before callers are answered,
        // so a run requested right after an acknowledged append sees it.
        onCommit(commit)
        for (pending, outcome) in zip(group, outcomes) {
            switch outcome {
            case .success(let r): pending.continuation.resume(returning: r)
            case .failure(let e): pending.continuation.resume(throwing: IngestError.store(e))
            }
        }
    }

    private static func append(_ log: EventLog, _ inputs: [AppendInput]) -> Result<AppendResult, StoreError> {
        do {
            return .success(try log.append(inputs))
        } catch {
            return .failure(error)
        }
    }

    private static func result(seqs: [UInt64], duplicate: [Bool]) -> AppendResult {
        var r = AppendResult(seqs: seqs, duplicate: duplicate)
        for (seq, dup) in zip(seqs, duplicate) {
            if dup {
                r.duplicates += 1
            } else {
                r.appended += 1
                if r.firstSeq == nil { r.firstSeq = seq }
                r.lastSeq = seq
            }
        }
        return r
    }
}
