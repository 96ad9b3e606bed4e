import Foundation
public import Logging
public import ReconStore

/// Writes checkpoint groups in the background while the service takes events,
/// so as-of reads (`/v1/state?at=`, `recon state`) stay near a checkpoint on a
/// log that only `recon serve` appends to.
///
/// A thread of its own, started by the server once the engine has caught up
/// with the log at start-up, then woken by commits: once the log holds a whole interval
/// past the newest group (`CheckpointStore.interval()`, the data folder's
/// setting), it folds from that group and writes the missing ones; groups of an
/// earlier release's layout are rewritten at the first wake. Each group is
/// its own short write transaction, so the group-commit writer waits at most for
/// one group (about 1 MB for a busy account), never for the catch-up. The fold
/// reads through its own read transactions; the engine's fold is untouched.
///
/// A failed catch-up (disk full, a damaged record) is logged and tried again at
/// the next commit after `retryAfter`; checkpoints are derived data, so a
/// missing group costs reads time, never an answer. Stopping waits for the
/// group being written, not for the rest.
public final class CheckpointWriter: @unchecked Sendable {
    private let store: CheckpointStore
    private let logger: Logger
    private let retryAfterNs: UInt64
    private let onLatest: @Sendable (_ newestGroup: UInt64, _ committed: UInt64) -> Void
    private let onFailure: @Sendable () -> Void

    private let follower = CommitFollower()

    /// `onLatest` gets the newest group's seq and the committed seq after each
    /// look at the log; `onFailure` each failed catch-up.
    public init(log: EventLog, logger: Logger, retryAfterMs: Int64 = 10_000,
                onLatest: @escaping @Sendable (_ newestGroup: UInt64, _ committed: UInt64) -> Void = { _, _ in },
                onFailure: @escaping @Sendable () -> Void = {}) {
        store = CheckpointStore(log: log)
        self.logger = logger
        self.onLatest = onLatest
        self.onFailure = onFailure
        retryAfterNs = UInt64(max(0, retryAfterMs)) * 1_000_000
    }

    /// Starts the thread; it first catches up with the log as it is. After a
    /// `stop`, the thread ends at once.
    public func start() {
        follower.starting(committed: 0)
        let thread = Thread { [self] in
            ReconEngine.lowerPriority()
            loop()
            follower.finished()
        }
        thread.name = "recon-checkpoints"
        thread.start()
    }

    /// Called after each commit.
    public func committed(upTo seq: UInt64) {
        follower.committed(upTo: seq)
    }

    /// Stops after the group being written, if any.
    public func stop() {
        follower.stop()
    }

    private func loop() {
        // Nil until the first look, which comes at once (the log as it is).
        var checkedUpTo: UInt64?
        var notBeforeNs: UInt64 = 0
        while true {
            // New commits, once a failure's back-off is over.
            let next = follower.next { committed in
                if let checked = checkedUpTo, committed <= checked { return .waitForCommit }
                return .waitUntil(notBeforeNs)
            }
            guard let target = next else { return }
            do {
                // Asked at every wake: it reads the newest group and the interval
                // each time (another process, `recon checkpoint --every N`, may
                // change either), returns at once when no group is due, and
                // rewrites groups an earlier release wrote even then.
                let start = DispatchTime.now().uptimeNanoseconds
                let groups = try store.catchUp(stopWhen: { [follower] in follower.isStopping })
                checkedUpTo = target
                let latest = try store.latestGroupSeq()
                onLatest(latest, target)
                if groups > 0 {
                    logger.info("checkpoints written", metadata: [
                        "groups": "\(groups)", "latest_seq": "\(latest)",
                        "seconds": "\(String(format: "%.2f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))"])
                }
            } catch {
                logger.error("checkpoints_failed", metadata: ["reason": "\(error)", "retry_after_ms": "\(retryAfterNs / 1_000_000)"])
                onFailure()
                notBeforeNs = DispatchTime.now().uptimeNanoseconds + retryAfterNs
            }
        }
    }
}
