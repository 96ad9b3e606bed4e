import CLMDB
import ReconCore

extension CheckpointStore {
    /// What the groups up to one store apart for an account, as the read
    /// transaction's bytes (valid while it is), in group order: every
    /// settled-fills delta, every older generation of closed orders (a restore
    /// attaches the newest) and every group's additions to the recent one (a
    /// restore takes those of the generation it is in).
    struct AccountEntriesApart {
        var settledDeltas: [(group: UInt64, bytes: UnsafeRawBufferPointer)] = []
        var olderClosedOrders: [(group: UInt64, bytes: UnsafeRawBufferPointer)] = []
        var recentClosedOrders: [UnsafeRawBufferPointer] = []
    }

    /// Finds what the groups up to `groupSeq` store apart for `account`.
    func accountEntriesApart(_ account: String, reader: LogReader, upTo groupSeq: UInt64) throws -> AccountEntriesApart {
        let c = try reader.openCursor(log.checkpoints)
        defer { mdb_cursor_close(c) }
        let wanted = Array(account.utf8)
        var apart = AccountEntriesApart()
        var k = MDB_val(), v = MDB_val()
        var code = mdb_cursor_get(c, &k, &v, MDB_FIRST)
        while code == 0 {
            let key = UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size)
            let groupOfKey = UInt64(bigEndianBytes: UnsafeRawBufferPointer(rebasing: key[0..<8]))
            if groupOfKey > groupSeq { break }
            if key.count == 9 + wanted.count && key[9...].elementsEqual(wanted) {
                let value = UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
                if key[8] == Self.settledMarker {
                    apart.settledDeltas.append((groupOfKey, value))
                } else if key[8] == Self.closedOrdersMarker {
                    apart.olderClosedOrders.append((groupOfKey, value))
                } else if key[8] == Self.recentClosedOrdersMarker {
                    apart.recentClosedOrders.append(value)
                }
            }
            code = mdb_cursor_get(c, &k, &v, MDB_NEXT)
        }
        return apart
    }

    /// An account's projection at group `groupSeq`: its entry decoded, both
    /// generations of closed orders attached, and the settled-fill deltas merged.
    /// Throws if the fills are not the number the delta at `groupSeq` recorded,
    /// or closed orders are missing (damage).
    ///
    /// Decoding the entry and reading the deltas are independent, so they run at
    /// once, then the merge runs in key ranges, each on whichever core is free
    /// (`performConcurrently`). Most of an as-of read was these steps in turn
    /// while the second core idled.
    func restore(entry: UnsafeRawBufferPointer, apart: AccountEntriesApart, at groupSeq: UInt64) throws -> AccountProjection {
        // The delta at `groupSeq` starts with the size of the whole set: reserve it
        // once rather than let the merge's buffer grow through every delta.
        var reserve = 0
        if let last = apart.settledDeltas.last, last.group == groupSeq {
            var r = ByteReader(last.bytes)
            // At most one fill per event, so a damaged size cannot reserve more than that.
            if let total = try? r.nonNegativeInt(), total <= groupSeq { reserve = total }
        }
        var merger = SettledFills.Merger(reserving: reserve)
        var expected: Int?
        var decoded: Result<AccountProjection, any Error> = .failure(CodecError.truncated)
        var deltasRead: Result<Void, any Error> = .success(())
        performConcurrently(2) { job in
            if job == 0 {
                decoded = Result {
                    var projection = try AccountProjection.decode(entry)
                    if projection.local.closedOrders.olderStoredApart {
                        guard let older = apart.olderClosedOrders.last?.bytes else {
                            throw CodecError.malformed("closed orders of \(projection.account) at \(groupSeq)")
                        }
                        try projection.local.closedOrders.attachOlder(encoded: older)
                    }
                    if projection.local.closedOrders.recentStoredApart != nil {
                        try projection.local.closedOrders.attachRecent(encoded: apart.recentClosedOrders)
                    }
                    return projection
                }
            } else {
                deltasRead = Result {
                    for delta in apart.settledDeltas {
                        let total = try merger.add(delta: delta.bytes)
                        if delta.group == groupSeq { expected = total }
                    }
                }
            }
        }
        var projection = try decoded.get()
        try deltasRead.get()
        let settled = merger.finish(parts: Self.mergeParts, perform: performConcurrently)
        guard let expected, expected == settled.count else {
            throw CodecError.malformed("settled fills of \(projection.account) at \(groupSeq)")
        }
        projection.local.settledFills = settled
        return projection
    }

    /// Key ranges a restore's merge is cut into: a few per core, so a core slowed
    /// by other work leaves its share to the other.
    static let mergeParts = 4
}
