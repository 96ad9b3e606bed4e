public import ReconCore

extension EventLog {
    /// Streams `[1, to]` through a new replay runner; see ``replay(_:from:to:account:runTriggers:stopBefore:progress:onRun:)``.
    public func replay(config: ReconConfig, to: UInt64 = .max, account: String? = nil, runTriggers: Bool = true,
                       stopBefore: UInt64? = nil, progress: (UInt64, UInt64) -> Void = { _, _ in },
                       onRun: (RunOutcome) throws -> Void) throws -> ReplayRunner {
        var runner = ReplayRunner(config: config)
        try replay(&runner, from: 1, to: to, account: account, runTriggers: runTriggers, stopBefore: stopBefore,
                   progress: progress, onRun: onRun)
        return runner
    }

    /// Streams `[from, to]` through `runner`, using each record's stored chain
    /// value. With `account`, other accounts' events are skipped without being
    /// decoded (the chain still comes from every record). Trigger points at or
    /// after `stopBefore` are folded without a run.
    public func replay(_ runner: inout ReplayRunner, from: UInt64, to: UInt64 = .max, account: String? = nil,
                       runTriggers: Bool = true, stopBefore: UInt64? = nil,
                       progress: (UInt64, UInt64) -> Void = { _, _ in },
                       onRun: (RunOutcome) throws -> Void) throws {
        let last = min(to, try lastSeq())
        // Decoded on a second core while this one folds and runs.
        let request = EventsDecodedAhead.Request(from: from, to: last, account: account.map { Array($0.utf8) })
        try EventsDecodedAhead.scan(self, request) { record in
            let seq = record.seq
            if seq % 65_536 == 0 { progress(seq, last) }
            guard record.isDecoded else {
                runner.skip(chain: record.chain)
                return true
            }
            let triggers = runTriggers && (stopBefore.map { seq < $0 } ?? true)
            if let outcome = runner.apply(record.event, chain: record.chain, runTriggers: triggers) {
                try onRun(outcome)
            }
            return true
        }
        progress(last, last)
    }
}
