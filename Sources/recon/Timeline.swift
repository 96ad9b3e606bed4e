import ReconCore
import ReconStore

/// Replays the log under `config` and records the canonical timeline (every
/// trigger-point run and its lifecycle transitions) in the audit store,
/// replacing what was there for that config.
@discardableResult
func rebuildTimeline(log: EventLog, audit: AuditStore, config: ReconConfig, account: String? = nil,
                     onRun: (RunOutcome) -> Void = { _ in }) throws -> (runs: Int, runner: ReplayRunner) {
    try audit.clearTimeline(configHash: config.hash)
    var pending: [RunOutcome] = []
    var runs = 0
    let runner = try log.replay(config: config, account: account, progress: { done, total in
        Console.progress("replay", done, total)
    }) { outcome in
        runs += 1
        onRun(outcome)
        pending.append(outcome)
        if pending.count >= 2_000 {
            try audit.record(pending, canonical: true)
            pending.removeAll(keepingCapacity: true)
        }
    }
    try audit.record(pending, canonical: true)
    if account == nil {
        try audit.markReplayed(configHash: config.hash, lastSeq: runner.projection.lastSeq, chain: runner.chain)
    }
    return (runs, runner)
}
