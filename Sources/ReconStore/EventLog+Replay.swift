public import ReconCore

extension EventLog {
    /// Streams `[1, to]` through a replay runner, using each record's stored
    /// chain value. With `account`, other accounts' events are skipped without
    /// being decoded (the chain still comes from every record).
    ///
    /// `onRun` gets each trigger-point run; `lastEvent` is called with the event
    /// at `to` (whether or not it triggered a run).
    public func replay(config: ReconConfig, to: UInt64 = .max, account: String? = nil, runTriggers: Bool = true,
                       stopBefore: UInt64? = nil,
                       progress: (UInt64, UInt64) -> Void = { _, _ in },
                       onRun: (RunOutcome) throws -> Void) throws -> ReplayRunner {
        var runner = ReplayRunner(config: config)
        let wanted = account.map { Array($0.utf8) }
        let last = min(to, try lastSeq())
        try read { reader in
            try reader.scanRaw(from: 1, to: last) { seq, bytes in
                if seq % 65_536 == 0 { progress(seq, last) }
                if let wanted, !LogRecord.accountMatches(bytes, wanted) {
                    runner.skip(chain: try LogRecord.header(bytes, seq: seq).chain)
                    return true
                }
                let header = try LogRecord.header(bytes, seq: seq)
                let logged = try LogRecord.decode(bytes, seq: seq)
                let triggers = runTriggers && (stopBefore.map { seq < $0 } ?? true)
                if let outcome = runner.apply(logged, chain: header.chain, runTriggers: triggers) {
                    try onRun(outcome)
                }
                return true
            }
        }
        progress(last, last)
        return runner
    }
}
