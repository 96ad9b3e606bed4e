import CLMDB
public import ReconCore

/// Checkpoints of account projections, so a projection at any seq costs a load
/// plus the events since the nearest checkpoint, never a replay of the whole log.
///
/// Layout in the `checkpoints` table: a group per checkpoint seq `c` (a multiple
/// of the interval): the key `c‖""` marks the group as complete, then one key
/// `c‖account` per account the log knew at `c` (its projection without settled
/// fills, closed positions and the entries of closed orders), then
/// `c‖0xFC‖account` for an account that closed positions since the group before
/// (those round trips), `c‖0xFD‖account` for one that closed orders (the entries
/// its recent generation added), `c‖0xFE‖account` for one whose closed orders
/// rotated (the new older generation), then one key `c‖0xFF‖account` per
/// account (the fills that settled since the group before). 0xFC–0xFF never
/// occur in UTF-8, so these sort after every account. Keys sort by seq, then
/// account, so the group marker comes first.
///
/// Settled fills are stored as deltas because they are most of a long-lived
/// account's projection and only ever grow: whole sets in every group made the
/// table grow with the square of the log (1.07 GB of checkpoints for a 1M-event
/// log). Closed orders are only ever appended to (`ClosedOrders`): an older
/// generation is stored once, not in each of the groups that follow until the
/// next rotation, and the recent one as what each group added. Whole, the recent
/// generation was two thirds of each account's entry. Closed positions only grow
/// too, and whole they made each entry grow with the log (63 KB at 100,000
/// events, 171 KB at 1M), so they are stored as what each group added. Loading a
/// group merges the settled-fill deltas up to it and checks the total, attaches
/// the newest older generation stored at or below it, checking its number, and
/// rebuilds the recent generation and the closed positions from their deltas,
/// checking that they follow on and add up.
///
/// Checkpoints are derived data: deleting them (`recon checkpoint --rebuild`)
/// changes no answer, and a checkpoint that does not decode (older layout,
/// damage, a missing delta) is ignored.
public final class CheckpointStore: @unchecked Sendable {
    public let log: EventLog
    /// Events between checkpoints when given here; nil: the data folder's setting.
    private let fixedInterval: UInt64?

    /// Events between checkpoints unless the data folder says otherwise: an as-of
    /// read folds half of it on average (two thirds of the read's time at 10,000).
    /// A group stores what changed since the one before, so halving the interval
    /// adds little: at 5,000, 10M events over four accounts take 1.98 GB of
    /// checkpoints, less than 10,000 took (2.72 GB) when each group stored its
    /// recent closed orders whole, and as-of reads take about a quarter less
    /// time (BENCHMARKS.md, 2026-12-05).
    public static let defaultInterval: UInt64 = 5_000
    /// Intervals `setInterval` accepts: below 100 a group per handful of events
    /// costs more to write than the events it saves; above 10M an as-of read is a
    /// replay.
    public static let intervalRange: ClosedRange<UInt64> = 100...10_000_000

    /// `interval` nil: the data folder's setting (`setInterval`), else the default.
    /// Reading never needs it (groups are found wherever they were written); only
    /// `catchUp` spaces new groups by it.
    public init(log: EventLog, interval: UInt64? = nil) {
        precondition(interval.map { $0 > 0 } ?? true)
        self.log = log
        fixedInterval = interval
    }

    static let intervalMetaKey = Array("checkpoint_interval".utf8)

    /// Events between the groups `catchUp` writes: the one given at init, else the
    /// data folder's setting, else `defaultInterval`.
    public func interval() throws -> UInt64 {
        if let fixedInterval { return fixedInterval }
        guard let stored = try log.metaValue(Self.intervalMetaKey) else { return Self.defaultInterval }
        let value = stored.count == 8 ? stored.withUnsafeBytes { UInt64(bigEndianBytes: $0) } : 0
        guard Self.intervalRange.contains(value) else {
            throw StoreError(.corrupt, "the data folder's checkpoint interval is unreadable; set it again with `recon checkpoint --every N`")
        }
        return value
    }

    /// Stores `interval` as the data folder's setting: every later `catchUp` by any
    /// process spaces new groups by it. Groups already written stay where they are
    /// (reads find them wherever they are); `deleteAll` and a catch-up respace all.
    public func setInterval(_ interval: UInt64) throws {
        guard Self.intervalRange.contains(interval) else {
            throw StoreError(.badInput, "a checkpoint interval must be \(Self.intervalRange.lowerBound)...\(Self.intervalRange.upperBound) events, not \(interval)")
        }
        // One short write transaction, as a checkpoint group's.
        try log.writeDerived(into: log.meta, [(Self.intervalMetaKey, interval.bigEndianBytes)])
    }

    static func key(seq: UInt64, account: String) -> [UInt8] {
        seq.bigEndianBytes + Array(account.utf8)
    }

    /// Moves the cursor to the first key of group `seq` or the first after it.
    static func seek(_ cursor: OpaquePointer, to seq: UInt64, _ k: inout MDB_val, _ v: inout MDB_val) -> Int32 {
        var start = seq.bigEndianBytes
        return start.withUnsafeMutableBytes { raw in
            k = MDB_val(mv_size: 8, mv_data: raw.baseAddress)
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
        }
    }

    /// What a group stores apart from an account's entry, by the byte that marks
    /// its key (`seq‖marker‖account`). None of these bytes occurs in UTF-8, so they
    /// sort after every account's own key, in this order.
    enum Apart: UInt8 {
        /// The positions the account closed since the group before.
        case closedPositions = 0xFC
        /// The entries the account's recent closed orders gained since then.
        case recentClosedOrders = 0xFD
        /// The older generation of closed orders, when it rotated since then.
        case olderClosedOrders = 0xFE
        /// The fills that settled since then.
        case settledFills = 0xFF
    }

    static func key(seq: UInt64, account: String, apart: Apart) -> [UInt8] {
        seq.bigEndianBytes + [apart.rawValue] + Array(account.utf8)
    }

    /// Whether a key of a group (after its seq) is an account's own entry, not
    /// one stored apart or the group's marker.
    static func isAccountEntry(_ key: UnsafeRawBufferPointer) -> Bool {
        key.count > 8 && Apart(rawValue: key[8]) == nil
    }

    /// The seq of the newest complete checkpoint group, 0 if none.
    public func latestGroupSeq() throws -> UInt64 {
        try groupSeq(atOrBefore: .max)
    }

    /// Whether the first account entry of group `seq` starts with this release's
    /// layout version (a group with no account entry counts as current).
    public func groupHasCurrentLayout(_ seq: UInt64) throws -> Bool {
        try log.read { reader in
            let c = try reader.openCursor(log.checkpoints)
            defer { mdb_cursor_close(c) }
            var k = MDB_val(), v = MDB_val()
            var code = Self.seek(c, to: seq, &k, &v)
            code = code == 0 ? mdb_cursor_get(c, &k, &v, MDB_NEXT) : code
            guard code == 0, k.mv_size > 8 else { return true }
            let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            guard UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: key[0..<8])) == seq else { return true }
            let value = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
            return value.first == AccountProjection.checkpointVersion
        }
    }

    /// The nearest checkpoint at or below `seq` for `account`: the projection
    /// there (nil if the account did not exist yet) and the checkpoint's seq.
    public func nearest(account: String, atOrBefore seq: UInt64) throws -> (seq: UInt64, projection: AccountProjection?) {
        try log.read { reader in
            let c = try reader.openCursor(log.checkpoints)
            defer { mdb_cursor_close(c) }
            let wanted = Array(account.utf8)
            var k = MDB_val(), v = MDB_val()
            var code = Self.seek(c, to: seq &+ 1, &k, &v)
            // Step back from the first key past `seq`.
            code = code == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : mdb_cursor_get(c, &k, &v, MDB_LAST)
            while code == 0 {
                let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
                let groupSeq = UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: key[0..<8]))
                if groupSeq <= seq {
                    if key.count == 8 {
                        // Passed the group's marker without meeting the account: it
                        // did not exist at this checkpoint, so it starts empty here.
                        return (groupSeq, nil)
                    }
                    if key.count - 8 == wanted.count && key[8...].elementsEqual(wanted) {
                        let entry = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
                        if let apart = try? accountEntriesApart(account, reader: reader, upTo: groupSeq),
                           let projection = try? restore(entry: entry, apart: apart, at: groupSeq) {
                            return (groupSeq, projection)
                        }
                        // Undecodable (older layout or damage): fall back to the start.
                        return (0, nil)
                    }
                }
                code = mdb_cursor_get(c, &k, &v, MDB_PREV)
            }
            return (0, nil)
        }
    }

    /// The projection of `account` after folding every event up to `seq`.
    public func projection(account: String, at seq: UInt64) throws -> AccountProjection {
        let (from, loaded) = try nearest(account: account, atOrBefore: seq)
        // Consumed, not copied: a copy left beside the one folded made the fold's
        // first append to each array copy it (the recent closed orders, megabytes).
        var projection = (consume loaded) ?? AccountProjection(account: account)
        try fold(&projection, account: account, from: from + 1, to: seq)
        return projection
    }

    /// Every account's projection after folding every event up to `seq`: the
    /// newest group at or below it (all accounts), then the events since.
    public func projection(at seq: UInt64) throws -> Projection {
        var group = try groupSeq(atOrBefore: seq)
        var projection: Projection
        do {
            projection = try loadGroup(group)
        } catch is CodecError {
            // Another layout or damage: derived data, so the log answers instead.
            group = 0
            projection = Projection()
        }
        try log.scanForFold(from: group + 1, to: seq) { projection.apply($0, facts: $1) }
        return projection
    }

    /// The seq of the newest group at or below `seq` (0: none).
    func groupSeq(atOrBefore seq: UInt64) throws -> UInt64 {
        try log.read { reader in
            let c = try reader.openCursor(log.checkpoints)
            defer { mdb_cursor_close(c) }
            var k = MDB_val(), v = MDB_val()
            // Step back from the first key past `seq`, or from the last key.
            var code = seq < .max ? Self.seek(c, to: seq + 1, &k, &v) : MDB_NOTFOUND
            code = code == 0 ? mdb_cursor_get(c, &k, &v, MDB_PREV) : mdb_cursor_get(c, &k, &v, MDB_LAST)
            while code == 0 {
                // A group's marker is its bare 8-byte seq; its entries have longer keys.
                if k.mv_size == 8 { return UInt64(bigEndianBytes: UnsafeRawBufferPointer(start: k.mv_data, count: 8)) }
                code = mdb_cursor_get(c, &k, &v, MDB_PREV)
            }
            return 0
        }
    }

    /// Folds the events of `account` in `[from, to]` into `projection`.
    public func fold(_ projection: inout AccountProjection, account: String, from: UInt64, to: UInt64) throws {
        guard from <= to else { return }
        try log.scanForFold(from: from, to: to, account: account) { projection.apply($0.event, seq: $0.seq, facts: $1) }
    }

    /// Writes the missing checkpoint groups up to the log's end. Each group is its
    /// own short write transaction, so appends are never held up for long.
    /// `stopWhen` is asked before each group (a service stopping). Returns how
    /// many groups it wrote.
    @discardableResult
    public func catchUp(progress: (UInt64, UInt64) -> Void = { _, _ in }, stopWhen: () -> Bool = { false }) throws -> Int {
        let last = try log.lastSeq()
        var groupSeq = try latestGroupSeq()
        // Groups of an older layout (written by an earlier release) would make every
        // as-of read replay from the start, so they go even when nothing is new.
        if groupSeq > 0, try !groupHasCurrentLayout(groupSeq) {
            try deleteAll()
            groupSeq = 0
        }
        let interval = try interval()
        guard groupSeq + interval <= last else { return 0 }
        var projection: Projection
        do {
            projection = try loadGroup(groupSeq)
        } catch is CodecError {
            // Checkpoints of another layout (written by another release) or damaged:
            // derived data, so they are rebuilt from the log rather than trusted.
            try deleteAll()
            groupSeq = 0
            projection = Projection()
        }
        var written = 0
        var pending: [(LoggedEvent, EventFacts)] = []
        // What the groups before stored, so each group stores only what settled
        // since, and an older generation of closed orders only once.
        var stored = StoredApart(projection)
        while groupSeq + interval <= last, !stopWhen() {
            let target = groupSeq + interval
            pending.removeAll(keepingCapacity: true)
            // The group stores the state at `target`, so lists replaced before it need no decoding.
            try log.scanForFold(from: groupSeq + 1, to: target) { pending.append(($0, $1)) }
            for (logged, facts) in pending { projection.apply(logged, facts: facts) }
            try writeGroup(projection, at: target, storedApart: &stored)
            written += 1
            groupSeq = target
            progress(target, last)
        }
        return written
    }

    /// Every account's projection at a checkpoint group (empty at 0).
    private func loadGroup(_ seq: UInt64) throws -> Projection {
        var projection = Projection()
        projection.lastSeq = seq
        guard seq > 0 else { return projection }
        try log.read { reader in
            let c = try reader.openCursor(log.checkpoints)
            defer { mdb_cursor_close(c) }
            var k = MDB_val(), v = MDB_val()
            var code = Self.seek(c, to: seq, &k, &v)
            var entries: [(account: String, bytes: UnsafeRawBufferPointer)] = []
            while code == 0 {
                let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
                guard UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: key[0..<8])) == seq else { break }
                if Self.isAccountEntry(key) {
                    entries.append((String(decoding: key[8...], as: UTF8.self), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)))
                }
                code = mdb_cursor_get(c, &k, &v, MDB_NEXT)
            }
            for (name, entry) in entries {
                let apart = try accountEntriesApart(name, reader: reader, upTo: seq)
                do {
                    projection.accounts[name] = try restore(entry: entry, apart: apart, at: seq)
                } catch {
                    // An entry that does not decode, a missing or damaged delta or
                    // generation: the group cannot be trusted.
                    throw CodecError.malformed("checkpoint of \(name) at \(seq): \(error)")
                }
            }
        }
        return projection
    }

    /// Per account, what the groups written so far hold apart from the accounts'
    /// entries: how many settled fills, which older generation of closed orders,
    /// how many entries of the recent one, and how many closed positions.
    struct StoredApart {
        var settledFills: [String: Int]
        var closedOrderRotations: [String: Int]
        var recentClosedOrders: [String: Int]
        var closedPositions: [String: Int]

        init(_ projection: Projection) {
            settledFills = projection.accounts.mapValues(\.local.settledFills.count)
            closedOrderRotations = projection.accounts.mapValues(\.local.closedOrders.rotations)
            recentClosedOrders = projection.accounts.mapValues(\.local.closedOrders.recentEntries.count)
            closedPositions = projection.accounts.mapValues(\.local.closedPositions.count)
        }
    }

    private func writeGroup(_ projection: Projection, at seq: UInt64, storedApart: inout StoredApart) throws {
        var entries: [([UInt8], [UInt8])] = [(seq.bigEndianBytes, [])]
        for (name, account) in projection.accounts {
            // The account's own entry, then what it stores apart (each key says
            // which; the table sorts them).
            var entry = account
            entry.local.settledFills = SettledFills()
            entries.append((Self.key(seq: seq, account: name), entry.encoded(historyApart: true)))
            let positionsStored = storedApart.closedPositions[name] ?? 0
            if account.local.closedPositions.count > positionsStored {
                entries.append((Self.key(seq: seq, account: name, apart: .closedPositions), account.local.encodedClosedPositions(from: positionsStored)))
                storedApart.closedPositions[name] = account.local.closedPositions.count
            }
            let closed = account.local.closedOrders
            // A rotation since the group before: the recent generation is new, and
            // every entry of it is added here.
            let recentStored = storedApart.closedOrderRotations[name] == closed.rotations ? storedApart.recentClosedOrders[name] ?? 0 : 0
            if closed.recentEntries.count > recentStored {
                entries.append((Self.key(seq: seq, account: name, apart: .recentClosedOrders), closed.encodedRecent(from: recentStored)))
            }
            storedApart.recentClosedOrders[name] = closed.recentEntries.count
            if closed.rotations > 0 && storedApart.closedOrderRotations[name] != closed.rotations {
                entries.append((Self.key(seq: seq, account: name, apart: .olderClosedOrders), closed.encodedOlder()))
            }
            storedApart.closedOrderRotations[name] = closed.rotations
            let settled = account.local.settledFills
            entries.append((Self.key(seq: seq, account: name, apart: .settledFills), settled.encodedDelta(since: storedApart.settledFills[name] ?? 0)))
            storedApart.settledFills[name] = settled.count
        }
        try log.writeDerived(into: log.checkpoints, entries)
    }

    /// The groups holding a settled-fills delta of `account`, with the number of
    /// fills each stored (for tests and diagnostics).
    func settledDeltaSizes(account: String) throws -> [(group: UInt64, fills: Int)] {
        try log.read { reader in
            try accountEntriesApart(account, reader: reader, upTo: .max).settledDeltas.map { delta in
                var set = SettledFills()
                _ = try set.merge(delta: delta.bytes)
                return (group: delta.group, fills: set.count)
            }
        }
    }

    /// The groups holding an older generation of closed orders of `account`, with
    /// the generation's number (for tests and diagnostics).
    func closedOrderGenerations(account: String) throws -> [(group: UInt64, rotations: Int)] {
        try log.read { reader in
            try accountEntriesApart(account, reader: reader, upTo: .max).olderClosedOrders.map { generation in
                var r = ByteReader(generation.bytes)
                return (group: generation.group, rotations: try r.nonNegativeInt())
            }
        }
    }

    /// The groups holding entries added to the recent closed orders of `account`:
    /// the generation's number, where the entries start in it and how many were
    /// added (for tests and diagnostics).
    func recentClosedOrderDeltas(account: String) throws -> [(rotations: Int, start: Int, added: Int)] {
        try log.read { reader in
            try accountEntriesApart(account, reader: reader, upTo: .max).recentClosedOrders.map { delta in
                var r = ByteReader(delta)
                return (rotations: try r.nonNegativeInt(), start: try r.nonNegativeInt(), added: try r.length())
            }
        }
    }

    /// The groups holding positions `account` closed: where they start in its
    /// list and how many (for tests and diagnostics).
    func closedPositionDeltas(account: String) throws -> [(start: Int, added: Int)] {
        try log.read { reader in
            try accountEntriesApart(account, reader: reader, upTo: .max).closedPositions.map { delta in
                var r = ByteReader(delta)
                return (start: try r.nonNegativeInt(), added: try r.length())
            }
        }
    }

    /// Deletes every checkpoint.
    public func deleteAll() throws {
        try log.clearDerived(log.checkpoints)
    }

    /// The pages the checkpoints table fills, in bytes.
    public func storageBytes() throws -> Int {
        try log.read { reader in
            var stat = MDB_stat()
            try check(mdb_stat(reader.txn, log.checkpoints, &stat), "reading the checkpoints table's size")
            return (stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages) * Int(stat.ms_psize)
        }
    }

    /// How many checkpoint groups exist.
    public func groupCount() throws -> Int {
        var count = 0
        try log.read { reader in
            let c = try reader.openCursor(log.checkpoints)
            defer { mdb_cursor_close(c) }
            var k = MDB_val(), v = MDB_val()
            var code = mdb_cursor_get(c, &k, &v, MDB_FIRST)
            while code == 0 {
                if k.mv_size == 8 { count += 1 }
                code = mdb_cursor_get(c, &k, &v, MDB_NEXT)
            }
        }
        return count
    }
}

extension LogReader {
    func openCursor(_ dbi: MDB_dbi) throws(LMDBError) -> OpaquePointer {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "opening a cursor")
        return cursor!
    }
}

extension EventLog {
    /// Runs `body` in one short write transaction on derived data and commits,
    /// growing the map when it is full (freeing pages needs room too: the free
    /// list is written) and adopting a resize made by another process.
    private func writingDerived<R>(_ body: (borrowing LMDBTransaction) throws -> R) throws -> R {
        while true {
            do {
                return try env.resizeLock.withReadLock { () throws -> R in
                    let txn = try LMDBTransaction(env, readOnly: false)
                    let result = try body(txn)
                    try txn.commit()
                    return result
                }
            } catch let error as LMDBError where error.code == MDB_MAP_FULL {
                try env.grow()
            } catch let error as LMDBError where error.code == MDB_MAP_RESIZED {
                try adoptResize()
            }
        }
    }

    /// Writes derived entries (checkpoints) in one transaction.
    func writeDerived(into dbi: MDB_dbi, _ entries: [([UInt8], [UInt8])]) throws {
        try writingDerived { txn in
            for (key, value) in entries {
                try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try txn.put(dbi, key: k, value: v, flags: 0) } }
            }
        }
    }

    /// Removes one derived entry (tests damage checkpoints with it); false if absent.
    func removeDerived(_ dbi: MDB_dbi, key: [UInt8]) throws -> Bool {
        try writingDerived { txn in try key.withUnsafeBytes { k in try txn.delete(dbi, key: k) } }
    }

    /// The `meta` table's value for `key`, nil if absent.
    func metaValue(_ key: [UInt8]) throws -> [UInt8]? {
        try read { reader in
            var key = key
            var k = MDB_val(), v = MDB_val()
            let code: Int32 = key.withUnsafeMutableBytes { raw in
                k = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                return mdb_get(reader.txn, meta, &k, &v)
            }
            if code == MDB_NOTFOUND { return nil }
            try check(code, "reading the meta table")
            return Array(UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
        }
    }

    func clearDerived(_ dbi: MDB_dbi) throws {
        try writingDerived { txn in try txn.drop(dbi) }
    }
}
