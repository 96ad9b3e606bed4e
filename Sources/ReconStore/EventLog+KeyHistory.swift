public import ReconCore

extension EventLog {
    /// How `key` of `account` changed up to `seq`, and the account's projection
    /// there. Folded from the log's start: a value's history is what checkpoints
    /// do not keep. `progress` gets the seq reached now and then.
    public func history(of key: ProjectionKey, account: String, to seq: UInt64,
                        progress: (UInt64) -> Void = { _ in }) throws -> (history: KeyHistory, projection: AccountProjection) {
        var projection = AccountProjection(account: account)
        var history = KeyHistory(key: key, from: projection)
        try scan(from: 1, to: seq) { logged in
            if logged.seq % 65_536 == 0 { progress(logged.seq) }
            guard logged.event.account == account else { return true }
            projection.apply(logged.event, seq: logged.seq)
            history.note(logged.event, seq: logged.seq, after: projection)
            return true
        }
        return (history, projection)
    }
}
