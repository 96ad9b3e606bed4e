import CLMDB
import ReconCore

extension CheckpointStore {
    /// What the groups up to one store apart for an account, as the read
    /// transaction's bytes (valid while it is), in group order: every
    /// settled-fills delta, every older generation of closed orders (a restore
    /// attaches the newest), every group's additions to the recent one (a
    /// restore takes those of the generation it is in) and to the closed positions.
    struct AccountEntriesApart {
        var settledDeltas: [(group: UInt64, bytes: UnsafeRawBufferPointer)] = []
        var olderClosedOrders: [(group: UInt64, bytes: UnsafeRawBufferPointer)] = []
        var recentClosedOrders: [UnsafeRawBufferPointer] = []
        var closedPositions: [UnsafeRawBufferPointer] = []
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
                switch Apart(rawValue: key[8]) {
                case .settledFills: apart.settledDeltas.append((groupOfKey, value))
                case .olderClosedOrders: apart.olderClosedOrders.append((groupOfKey, value))
                case .recentClosedOrders: apart.recentClosedOrders.append(value)
                case .closedPositions: apart.closedPositions.append(value)
                case nil: break
                }
            }
            code = mdb_cursor_get(c, &k, &v, MDB_NEXT)
        }
        return apart
    }

    /// An account's projection at group `groupSeq`: its entry decoded, both
    /// generations of closed orders and the closed positions attached, and the
    /// settled-fill deltas merged. Throws if the fills are not the number the
    /// delta at `groupSeq` recorded, or closed orders or positions are missing
    /// (damage). Runs inside the read transaction
    /// `entry` and `apart` come from: the merge reads the deltas where they lie.
    ///
    /// The entry is decoded beside the merge's key ranges, each job on whichever
    /// core is free (`performConcurrently`). Most of an as-of read was these steps
    /// in turn while the second core idled.
    func restore(entry: UnsafeRawBufferPointer, apart: AccountEntriesApart, at groupSeq: UInt64) throws -> AccountProjection {
        var merger = SettledFills.Merger()
        var expected: Int?
        for delta in apart.settledDeltas {
            let total = try merger.add(delta: delta.bytes)
            if delta.group == groupSeq { expected = total }
        }
        var decoded: Result<AccountProjection, any Error> = .failure(CodecError.truncated)
        let settled = try merger.finish(parts: Self.mergeParts) { parts, mergePart in
            performConcurrently(parts + 1) { job in
                guard job == 0 else { return mergePart(job - 1) }
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
                    if projection.local.closedPositionsStoredApart != nil {
                        try projection.local.attachClosedPositions(encoded: apart.closedPositions)
                    }
                    return projection
                }
            }
        }
        var projection = try decoded.get()
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
