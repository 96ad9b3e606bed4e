public import ReconCore

extension EventLog {
    /// Streams the events of `[from, to]` (only `account`'s, when given) to a
    /// fold, decoded on another core (``EventsDecodedAhead``); another
    /// account's records are not decoded.
    ///
    /// Most of a log's bytes are venue snapshots whose position and order lists
    /// the next snapshot replaces; they arrive undecoded (see ``SnapshotList``),
    /// so a fold pays to decode only the lists it reads.
    ///
    /// Each event is lent `inout` so that it is read where it was decoded, not
    /// copied (see ``EventsDecodedAhead/Chunk/forEach(_:)``); a change to it is
    /// discarded. Its `EventFacts` come with it, worked out on the decoding
    /// thread.
    public func scanForFold(from: UInt64 = 1, to: UInt64 = .max, account: String? = nil,
                            _ body: (inout LoggedEvent, EventFacts) throws -> Void) throws {
        let request = EventsDecodedAhead.Request(from: from, to: to, account: account.map { Array($0.utf8) }, facts: true)
        try EventsDecodedAhead.scan(self, request) { record in
            if record.isDecoded { try body(&record.event, record.facts) }
            return true
        }
    }
}
