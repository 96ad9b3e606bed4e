public import ReconCore

extension EventLog {
    /// Streams the events of `[from, to]` (only `account`'s, when given) to a fold
    /// whose result is read at `to`: as `scan`, except that each snapshot list
    /// that a later list of the same section and account replaces whole within
    /// the range comes nil, undecoded (see ``SnapshotLists``). Folding these
    /// events gives the same projection at `to` as folding every list; a fold
    /// that reads its projection before `to` (a run at a trigger) must use `scan`.
    ///
    /// Two passes in one read transaction: the first reads only snapshot records'
    /// shape, the second decodes (on another core, ``EventsDecodedAhead``).
    /// Returns how many lists were stepped over.
    @discardableResult
    public func scanForFold(from: UInt64 = 1, to: UInt64 = .max, account: String? = nil,
                            _ body: (LoggedEvent) throws -> Void) throws -> Int {
        // Decoded on a second core while this one folds.
        let request = EventsDecodedAhead.Request(from: from, to: to, account: account.map { Array($0.utf8) }, stepOverReplacedLists: true)
        return try EventsDecodedAhead.scan(self, request) { record in
            if let event = record.event { try body(event) }
            return true
        }
    }
}

/// Which snapshot lists in a range a fold to its end can step over: for each
/// snapshot, the sections that a later snapshot of its account replaces whole.
struct SupersededLists {
    /// Snapshots with something to step over, in seq order, and where their
    /// lists end in their records.
    private(set) var entries: [(seq: UInt64, lists: SnapshotLists, ends: SnapshotListEnds)] = []

    var listCount: Int { entries.reduce(0) { $0 + $1.lists.rawValue.nonzeroBitCount } }

    init(_ reader: LogReader, from: UInt64, to: UInt64, account wanted: [UInt8]?) throws {
        var snapshots: [(seq: UInt64, account: Int, present: SnapshotLists, replacesWhole: SnapshotLists, ends: SnapshotListEnds)] = []
        var accountIndex: [[UInt8]: Int] = [:]
        try reader.scanRaw(from: from, to: to) { seq, bytes in
            // A record this cannot read is planned as nothing to skip; the decoding
            // pass then reports the damage with its seq.
            guard let header = try? LogRecord.header(bytes, seq: seq) else { return true }
            var r = ByteReader(bytes, offset: header.contentOffset)
            guard let shape = try? EventCodec.peekSnapshotShape(&r) else { return true }
            if let wanted, !shape.account.elementsEqual(wanted) { return true }
            let key = Array(shape.account)
            let index: Int
            if let known = accountIndex[key] {
                index = known
            } else {
                index = accountIndex.count
                accountIndex[key] = index
            }
            snapshots.append((seq, index, shape.present, shape.replacesWhole, shape.ends))
            return true
        }
        // Walking back, a section is superseded for an account once a later
        // snapshot of it replaced that section whole.
        var replacedLater = [SnapshotLists](repeating: [], count: accountIndex.count)
        for snapshot in snapshots.reversed() {
            let skip = replacedLater[snapshot.account].intersection(snapshot.present)
            if !skip.isEmpty { entries.append((snapshot.seq, skip, snapshot.ends)) }
            replacedLater[snapshot.account].formUnion(snapshot.replacesWhole)
        }
        entries.reverse()
    }
}
