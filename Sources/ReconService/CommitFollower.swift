import Foundation

/// What a background thread that follows the writer's commits shares with the
/// threads around it: the newest committed seq (the writer reports it), a stop
/// request (shutdown asks), and whether the thread is still running (shutdown
/// waits for it), under one condition. The trigger engine and the checkpoint
/// writer each own one.
final class CommitFollower: @unchecked Sendable {
    /// What the following thread does next, decided with the committed seq in hand.
    enum Next {
        case proceed
        /// Sleep until a commit or a stop.
        case waitForCommit
        /// Sleep until this `DispatchTime` uptime (ns), a commit or a stop.
        case waitUntil(UInt64)
    }

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var committedSeq: UInt64 = 0
    private var stopping = false
    private var running = false

    /// Before the thread starts: the log's end as it is, and the thread counts
    /// as running (a stop from now on waits for it).
    func starting(committed seq: UInt64) {
        condition.lock()
        committedSeq = max(committedSeq, seq)
        running = true
        condition.unlock()
    }

    /// The writer committed up to `seq`.
    func committed(upTo seq: UInt64) {
        condition.lock()
        if seq > committedSeq {
            committedSeq = seq
            condition.signal()
        }
        condition.unlock()
    }

    /// Asks the thread to stop and waits until it says it has (at once if it never started).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    /// The thread's last word.
    func finished() {
        condition.lock()
        running = false
        condition.broadcast()
        condition.unlock()
    }

    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Sleeps until `decide`, asked with the committed seq whenever something may
    /// have changed, says proceed; returns that seq, or nil once a stop is asked.
    func next(_ decide: (UInt64) -> Next) -> UInt64? {
        condition.lock()
        defer { condition.unlock() }
        while !stopping {
            switch decide(committedSeq) {
            case .proceed:
                return committedSeq
            case .waitForCommit:
                condition.wait()
            case .waitUntil(let deadlineNs):
                let now = DispatchTime.now().uptimeNanoseconds
                guard deadlineNs > now else { return committedSeq }
                // At most an hour at a time (a far deadline is asked again then).
                _ = condition.wait(until: Date(timeIntervalSinceNow: min(Double(deadlineNs - now) / 1e9, 3_600)))
            }
        }
        return nil
    }

    /// Sleeps for `ms` unless a stop is asked first; false if one was.
    func sleep(ms: Int64) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, ms)) * 1_000_000
        return next { _ in .waitUntil(deadline) } != nil
    }
}
