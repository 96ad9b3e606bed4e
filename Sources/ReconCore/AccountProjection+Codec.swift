/// The binary form of an account projection, for checkpoints.
///
/// Checkpoints are derived data: a checkpoint that fails to decode (older layout,
/// damage) is skipped and the projection is rebuilt from the log. Tables are written
/// sorted by key (closed orders in their closing order), so the same projection
/// always gives the same bytes.
extension AccountProjection {
    /// Bumped whenever the layout below changes; older checkpoints are ignored.
    public static let checkpointVersion: UInt8 = 11

    /// The checkpoint bytes; with `historyApart`, without the lists that only
    /// grow, which a checkpoint group stores apart: the older generation of closed
    /// orders once (`ClosedOrders.encodedOlder()`), the recent one and the closed
    /// positions as the entries each group added (`encodedRecent(from:)`,
    /// `encodedClosedPositions(from:)`). A projection decoded without them is
    /// encoded without them either way.
    public func encoded(historyApart: Bool = false) -> [UInt8] {
        var w = ByteWriter(capacity: 4096)
        w.u8(Self.checkpointVersion)
        w.string(account)
        w.optional(venue) { w, v in w.string(v) }
        w.varint(lastSeq)
        local.encode(into: &w, historyApart: historyApart)
        remote.encode(into: &w)
        w.sortedMap(fillIssues) { w, v in w.string(v.rawValue) }
        w.sortedMap(awaitingHistory) { w, v in w.svarint(v) }
        return w.bytes
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> AccountProjection {
        var r = ByteReader(bytes)
        guard try r.u8() == checkpointVersion else { throw .malformed("checkpoint layout version") }
        var p = AccountProjection(account: try r.string())
        p.venue = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.string() }
        p.lastSeq = try r.varint()
        p.local = try LocalProjection.decode(&r)
        p.remote = try RemoteProjection.decode(&r)
        p.fillIssues = try r.map { (r: inout ByteReader) throws(CodecError) in
            guard let issue = FillIssue(rawValue: try r.string()) else { throw .malformed("fill issue") }
            return issue
        }
        p.awaitingHistory = try r.map { (r: inout ByteReader) throws(CodecError) in try r.svarint() }
        guard r.remaining == 0 else { throw .malformed("trailing bytes in checkpoint") }
        return p
    }
}

/// A list that only grows, as checkpoint groups store it: each group the entries
/// added since the group before, after where they start in the list (and, for
/// closed orders, the generation they belong to, before that).
enum GroupAdditions {
    /// The entries of `list` from `start` on.
    static func encode<T>(_ list: [T], from start: Int, into w: inout ByteWriter, _ write: (inout ByteWriter, T) -> Void) {
        w.varint(UInt64(start))
        w.varint(UInt64(list.count - start))
        for item in list[start...] { write(&w, item) }
    }

    /// Writes such a list inside an account's entry: only its count when its
    /// entries are stored apart (`storedApart`, a projection read without them, or
    /// `apart` and there are entries: one canonical form each), else the list.
    static func writeInEntry<T>(_ list: [T], storedApart: Int?, apart: Bool, into w: inout ByteWriter,
                                _ write: (inout ByteWriter, T) -> Void) {
        if let count = storedApart ?? (apart && !list.isEmpty ? list.count : nil) {
            w.u8(0)
            w.varint(UInt64(count))
        } else {
            w.u8(1)
            w.list(list, write)
        }
    }

    /// Reads what `writeInEntry` wrote: the list, or nil and how many entries are
    /// stored apart.
    static func readInEntry<T>(_ r: inout ByteReader, of what: String, capacity: (Int) -> Int = { $0 },
                               _ read: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> (list: [T]?, apartCount: Int?) {
        switch try r.u8() {
        case 0:
            // The entries are elsewhere, so the count is not bounded by these bytes
            // (`decode` bounds it by the additions').
            let count = try r.nonNegativeInt()
            guard count > 0 else { throw .malformed("\(what) count") }
            return (nil, count)
        case 1:
            let count = try r.length()
            return (try r.items(count, capacity: capacity(count), read), nil)
        default: throw .malformed("\(what) flag")
        }
    }

    /// The whole list of `count` entries from the additions of every group, in
    /// group order, passing over those `belongs` (reading any prefix) refuses.
    /// Each must start where the one before ended, and together they must add up
    /// to `count`, or it throws (one missing).
    static func decode<T>(_ deltas: [UnsafeRawBufferPointer], count: Int, capacity: Int, of what: String,
                          belongs: (inout ByteReader) throws(CodecError) -> Bool = { _ in true },
                          _ read: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> [T] {
        // An entry is at least 10 bytes: a damaged count cannot reserve more than
        // the deltas could hold.
        guard count <= deltas.reduce(0, { $0 + $1.count }) / 10 else { throw .malformed("\(what) count") }
        var list: [T] = []
        list.reserveCapacity(max(capacity, count))
        for delta in deltas {
            var r = ByteReader(delta)
            guard try belongs(&r) else { continue }
            guard try r.nonNegativeInt() == list.count else { throw .malformed("\(what) added out of turn") }
            let added = try r.length()
            guard added <= count - list.count else { throw .malformed("\(what) count") }
            for _ in 0..<added { list.append(try read(&r)) }
            guard r.remaining == 0 else { throw .malformed("trailing bytes in \(what)") }
        }
        guard list.count == count else { throw .malformed("\(what) missing") }
        return list
    }
}

extension ClosedOrders {
    /// Attaches an older generation stored apart (`encodedOlder()`), if it is the
    /// one this projection's closings rotated to.
    public mutating func attachOlder(encoded bytes: UnsafeRawBufferPointer) throws(CodecError) {
        var r = ByteReader(bytes)
        guard olderStoredApart, try r.nonNegativeInt() == rotations else { throw .malformed("closed orders of another generation") }
        attachOlder(try StoredGeneration(validating: bytes))
    }

    /// Attaches the recent generation stored apart, from the entries groups added
    /// to it (`encodedRecent(from:)`), in group order. Additions to other
    /// generations are passed over; see `GroupAdditions.decode`.
    public mutating func attachRecent(encoded deltas: [UnsafeRawBufferPointer]) throws(CodecError) {
        guard let count = recentStoredApart else { throw .malformed("recent closed orders are not apart") }
        let rotations = rotations
        attachRecent(try GroupAdditions.decode(deltas, count: count, capacity: Self.recentCapacity(holding: count), of: "recent closed orders",
                                               belongs: { (r: inout ByteReader) throws(CodecError) in try r.nonNegativeInt() == rotations },
                                               { (r: inout ByteReader) throws(CodecError) in try r.closedOrder() }))
    }

    /// The entries the recent generation holds from `start` on, as a checkpoint
    /// group stores those it added (see `attachRecent(encoded:)`).
    public func encodedRecent(from start: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + 40 * (recentEntries.count - start))
        w.varint(UInt64(rotations))
        GroupAdditions.encode(recentEntries, from: start, into: &w) { w, e in w.closedOrder(e) }
        return w.bytes
    }
}

extension LocalProjection {
    /// The closed positions from `start` on, as a checkpoint group stores those
    /// closed since the group before (see `attachClosedPositions(encoded:)`).
    public func encodedClosedPositions(from start: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + 80 * (closedPositions.count - start))
        GroupAdditions.encode(closedPositions, from: start, into: &w) { w, c in w.closedPosition(c) }
        return w.bytes
    }

    /// Attaches the closed positions of a projection decoded without them, from
    /// what each group added (`encodedClosedPositions(from:)`), in group order;
    /// see `GroupAdditions.decode`.
    public mutating func attachClosedPositions(encoded deltas: [UnsafeRawBufferPointer]) throws(CodecError) {
        guard let count = closedPositionsStoredApart else { throw .malformed("closed positions are not apart") }
        closedPositions = try GroupAdditions.decode(deltas, count: count, capacity: count, of: "closed positions") {
            (r: inout ByteReader) throws(CodecError) in try r.closedPosition()
        }
        closedPositionsStoredApart = nil
    }

    func encode(into w: inout ByteWriter, historyApart: Bool) {
        w.sortedMap(instruments) { w, s in
            w.string(s.instrument.symbol)
            w.u8(s.instrument.kind == .spot ? 0 : 1)
            w.string(s.instrument.base)
            w.string(s.instrument.quote)
            w.decimal(s.instrument.contractSize)
            w.varint(s.seq)
        }
        w.sortedMap(openOrders) { w, o in
            w.string(o.orderId)
            w.string(o.symbol)
            w.side(o.side)
            w.decimal(o.qty)
            w.optional(o.price) { w, v in w.decimal(v) }
            w.u8(o.orderType == .limit ? 0 : 1)
            w.u8((o.postOnly ? 1 : 0) | (o.reduceOnly ? 2 : 0))
            w.decimal(o.filled)
            w.varint(o.submittedSeq)
            w.svarint(o.submittedTsMs)
            w.varint(o.lastSeq)
        }
        // In closing order, which is part of the state (it decides which orders
        // the next rotation forgets), so no sort is needed for stable bytes.
        w.varint(UInt64(closedOrders.rotations))
        // Each generation apart only when it has entries (one canonical form each).
        if (historyApart && closedOrders.rotations > 0) || closedOrders.olderStoredApart {
            w.u8(0)
        } else {
            w.u8(1)
            w.list(closedOrders.generations.older) { w, e in w.closedOrder(e) }
        }
        GroupAdditions.writeInEntry(closedOrders.recentEntries, storedApart: closedOrders.recentStoredApart, apart: historyApart, into: &w) {
            w, e in w.closedOrder(e)
        }
        w.sortedMap(positions) { w, p in
            w.string(p.symbol)
            w.decimal(p.position.qty)
            w.decimal(p.position.cost)
            w.string(p.settlementAsset)
            w.decimal(p.realizedPnl)
            w.varint(p.firstSeq)
            w.varint(p.lastSeq)
            w.varint(UInt64(p.fillCount))
            w.u8(p.synthetic ? 1 : 0)
            w.optional(p.tripEntryTsMs) { w, v in w.svarint(v) }
            w.varint(p.tripOpenSeq)
            w.decimal(p.tripFees)
            w.decimal(p.tripRealized)
            w.decimal(p.tripEntryPrice)
            w.decimal(p.tripMaxQty)
            w.decimal(p.tripExitNotional)
            w.decimal(p.tripExitQty)
        }
        w.sortedMap(balances) { w, b in
            w.decimal(b.amount)
            w.varint(b.lastSeq)
            w.u8(b.synthetic ? 1 : 0)
        }
        w.sortedMap(fills) { w, f in
            w.fill(f.record)
            w.varint(f.seq)
            w.svarint(f.tsMs)
            w.u8(f.synthetic ? 1 : 0)
            // Stored, not hashed again when read: a log whose venue history lags
            // keeps many fills unsettled, and each read from a checkpoint had to
            // hash them all.
            let hashes = f.contentHashes
            w.u64le(hashes.includingFee)
            w.u64le(hashes.withoutFee)
        }
        settledFills.encode(settledFills.sortedKeys, into: &w)
        w.list(fees.keys.sorted()) { w, key in
            let a = fees[key]!
            w.string(key.symbol)
            w.u8(key.liquidity == .maker ? 0 : 1)
            w.varint(UInt64(a.count))
            w.decimal(a.notional)
            w.decimal(a.feeSum)
            w.decimal(a.feeNotional)
            w.decimal(a.charged)
            w.decimal(a.rebated)
            w.varint(UInt64(a.otherAssetFees))
            w.varint(a.firstSeq)
            w.varint(a.lastSeq)
            w.string(a.firstFillId)
        }
        w.list(findings) { w, f in
            w.string(f.kind.rawValue)
            w.varint(f.seq)
            w.string(f.fillId)
            w.string(f.orderId)
            w.string(f.symbol)
            w.string(f.local)
            w.string(f.other)
            w.varint(f.firstSeq)
        }
        GroupAdditions.writeInEntry(closedPositions, storedApart: closedPositionsStoredApart, apart: historyApart, into: &w) {
            w, c in w.closedPosition(c)
        }
        w.sortedMap(earlyFills) { w, qty in w.decimal(qty) }
        w.varint(UInt64(duplicateFillsIgnored))
        w.svarint(maxTsMs)
        w.varint(lastSeq)
    }

    static func decode(_ r: inout ByteReader) throws(CodecError) -> LocalProjection {
        var p = LocalProjection()
        p.instruments = try r.map { (r: inout ByteReader) throws(CodecError) in
            InstrumentState(instrument: Instrument(symbol: try r.string(), kind: try r.u8() == 0 ? .spot : .perp, base: try r.string(),
                                                   quote: try r.string(), contractSize: try r.decimal()), seq: try r.varint())
        }
        p.openOrders = try r.map { (r: inout ByteReader) throws(CodecError) in
            let orderId = try r.string(), symbol = try r.string(), side = try r.side(), qty = try r.decimal()
            let price = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.decimal() }
            let type: OrderType = try r.u8() == 0 ? .limit : .market
            let flags = try r.u8()
            var o = LocalOrder(orderId: orderId, symbol: symbol, side: side, qty: qty, price: price, orderType: type,
                               postOnly: flags & 1 != 0, reduceOnly: flags & 2 != 0, submittedSeq: 0, submittedTsMs: 0, lastSeq: 0)
            o.filled = try r.decimal()
            o.submittedSeq = try r.varint()
            o.submittedTsMs = try r.svarint()
            o.lastSeq = try r.varint()
            return o
        }
        let rotations = try r.nonNegativeInt()
        let older: [ClosedOrders.Entry]?
        switch try r.u8() {
        case 0 where rotations > 0: older = nil
        case 1: older = try r.list { (r: inout ByteReader) throws(CodecError) in try r.closedOrder() }
        default: throw .malformed("closed orders flag")
        }
        let recent = try GroupAdditions.readInEntry(&r, of: "recent closed orders", capacity: ClosedOrders.recentCapacity(holding:)) {
            (r: inout ByteReader) throws(CodecError) in try r.closedOrder()
        }
        p.closedOrders = ClosedOrders(older: older, recent: recent.list, recentCount: recent.apartCount ?? 0, rotations: rotations)
        p.positions = try r.map { (r: inout ByteReader) throws(CodecError) in
            let symbol = try r.string(), qty = try r.decimal(), cost = try r.decimal()
            var lp = LocalPosition(symbol: symbol, settlementAsset: "", firstSeq: 0, lastSeq: 0)
            lp.position = PerpPosition(qty: qty, cost: cost)
            lp.settlementAsset = try r.string()
            lp.realizedPnl = try r.decimal()
            lp.firstSeq = try r.varint()
            lp.lastSeq = try r.varint()
            lp.fillCount = try r.nonNegativeInt()
            lp.synthetic = try r.u8() == 1
            lp.tripEntryTsMs = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.svarint() }
            lp.tripOpenSeq = try r.varint()
            lp.tripFees = try r.decimal()
            lp.tripRealized = try r.decimal()
            lp.tripEntryPrice = try r.decimal()
            lp.tripMaxQty = try r.decimal()
            lp.tripExitNotional = try r.decimal()
            lp.tripExitQty = try r.decimal()
            return lp
        }
        p.balances = try r.map { (r: inout ByteReader) throws(CodecError) in
            LocalBalance(amount: try r.decimal(), lastSeq: try r.varint(), synthetic: try r.u8() == 1)
        }
        p.fills = try r.map { (r: inout ByteReader) throws(CodecError) in
            LocalFill(record: try r.fill(), seq: try r.varint(), tsMs: try r.svarint(), synthetic: try r.u8() == 1,
                      contentHashes: (try r.u64le(), try r.u64le()))
        }
        try p.settledFills.decodeEntries(&r)
        let feeEntries = try r.list { (r: inout ByteReader) throws(CodecError) -> (FeeKey, FeeAggregate) in
            let key = FeeKey(symbol: try r.string(), liquidity: try r.u8() == 0 ? .maker : .taker)
            var a = FeeAggregate()
            a.count = try r.nonNegativeInt()
            a.notional = try r.decimal()
            a.feeSum = try r.decimal()
            a.feeNotional = try r.decimal()
            a.charged = try r.decimal()
            a.rebated = try r.decimal()
            a.otherAssetFees = try r.nonNegativeInt()
            a.firstSeq = try r.varint()
            a.lastSeq = try r.varint()
            a.firstFillId = try r.string()
            return (key, a)
        }
        p.fees = Dictionary(feeEntries, uniquingKeysWith: { a, _ in a })
        p.findings = try r.list { (r: inout ByteReader) throws(CodecError) in
            guard let kind = IntegrityFinding.Kind(rawValue: try r.string()) else { throw .malformed("finding kind") }
            return IntegrityFinding(kind: kind, seq: try r.varint(), fillId: try r.string(), orderId: try r.string(), symbol: try r.string(),
                                    local: try r.string(), other: try r.string(), firstSeq: try r.varint())
        }
        let closedPositions = try GroupAdditions.readInEntry(&r, of: "closed positions") {
            (r: inout ByteReader) throws(CodecError) in try r.closedPosition()
        }
        p.closedPositions = closedPositions.list ?? []
        p.closedPositionsStoredApart = closedPositions.apartCount
        p.earlyFills = try r.map { (r: inout ByteReader) throws(CodecError) in try r.decimal() }
        p.duplicateFillsIgnored = try r.nonNegativeInt()
        p.maxTsMs = try r.svarint()
        p.lastSeq = try r.varint()
        return p
    }
}

extension SettledFills {
    /// Bytes of one stored entry, all fixed-width so a run of them can be
    /// bisected and read where it lies (`Merger`): the key's two halves, the two
    /// content hashes, the seq with the `synthetic` flag in its top bit (as
    /// `FillDigest` keeps it), and the delivery time, each 8 bytes little-endian.
    static let storedEntrySize = 48

    /// Writes a count, then each entry of `keys` (sorted, so equal sets give equal
    /// bytes, and a delta is a sorted run for `Merger`).
    func encode(_ keys: [Key], into w: inout ByteWriter) {
        w.varint(UInt64(keys.count))
        for key in keys {
            let d = self[key]!
            w.u64le(key.high)
            w.u64le(key.low)
            w.u64le(d.contentHash)
            w.u64le(d.contentHashWithoutFee)
            w.u64le(d.seqAndSynthetic)
            w.u64le(UInt64(bitPattern: d.tsMs))
        }
    }

    @inline(__always)
    private static func storedWord(_ entries: UnsafeRawBufferPointer, _ index: Int, _ word: Int) -> UInt64 {
        entries.loadUnaligned(fromByteOffset: index * storedEntrySize + 8 * word, as: UInt64.self).littleEndian
    }

    /// The key of entry `index` of a run of stored entries.
    @inline(__always)
    static func storedKey(_ entries: UnsafeRawBufferPointer, _ index: Int) -> Key {
        Key(high: storedWord(entries, index, 0), low: storedWord(entries, index, 1))
    }

    /// Entry `index` of a run of stored entries.
    @inline(__always)
    static func storedEntry(_ entries: UnsafeRawBufferPointer, _ index: Int) -> Entry {
        Entry(key: storedKey(entries, index),
              digest: FillDigest(contentHash: storedWord(entries, index, 2), contentHashWithoutFee: storedWord(entries, index, 3),
                                 seqAndSynthetic: storedWord(entries, index, 4), tsMs: Int64(bitPattern: storedWord(entries, index, 5))))
    }

    /// Reads what `encode(_:into:)` wrote: the stored entries, as they lie.
    static func readStoredEntries(_ r: inout ByteReader) throws(CodecError) -> UnsafeRawBufferPointer {
        let count = try r.length()
        guard count <= r.remaining / storedEntrySize else { throw .truncated }
        let entries = UnsafeRawBufferPointer(rebasing: r.base[r.offset..<(r.offset + count * storedEntrySize)])
        r.offset += entries.count
        return entries
    }

    /// Reads what `encode(_:into:)` wrote, adding the entries to this set. (Only
    /// whole projections carry a set; checkpoint groups store it as deltas, which
    /// `Merger` reads.)
    mutating func decodeEntries(_ r: inout ByteReader) throws(CodecError) {
        insert(stored: try Self.readStoredEntries(&r))
    }

    private mutating func insert(stored entries: UnsafeRawBufferPointer) {
        for i in 0..<(entries.count / Self.storedEntrySize) {
            let entry = Self.storedEntry(entries, i)
            insert(key: entry.key, digest: entry.digest)
        }
    }

    /// The entries added after the first `previousCount`, after the size of the
    /// whole set.
    ///
    /// The set only grows (a fill settles once and stays settled), so a checkpoint
    /// group can store just what settled since the group before it: the set at any
    /// group is the union of the deltas up to it, and storage grows with the log,
    /// not with the log times the number of groups.
    public func encodedDelta(since previousCount: Int) -> [UInt8] {
        let new = keysAdded(since: previousCount)
        var w = ByteWriter(capacity: 16 + new.count * Self.storedEntrySize)
        w.varint(UInt64(count))
        encode(new.sorted(), into: &w)
        return w.bytes
    }

    /// Reads a delta: the size the whole set had when it was written, and its
    /// stored entries.
    static func readDelta(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> (total: Int, entries: UnsafeRawBufferPointer) {
        var r = ByteReader(bytes)
        let total = try r.nonNegativeInt()
        let entries = try readStoredEntries(&r)
        guard r.remaining == 0 else { throw .malformed("trailing bytes in settled fills") }
        return (total, entries)
    }

    /// Adds the entries of a delta; returns the size the whole set had when the
    /// delta was written, for the caller to check that no delta is missing.
    public mutating func merge(delta bytes: UnsafeRawBufferPointer) throws(CodecError) -> Int {
        let (total, entries) = try Self.readDelta(bytes)
        insert(stored: entries)
        return total
    }
}

extension RemoteProjection {
    func encode(into w: inout ByteWriter) {
        positions.encode(into: &w) { w, p in w.remotePosition(p) }
        openOrders.encode(into: &w) { w, o in w.remoteOrder(o) }
        w.optional(balances) { w, map in
            w.sortedMap(map) { w, b in
                w.string(b.asset)
                w.decimal(b.total)
            }
        }
        w.varint(balancesSeq)
        w.svarint(balancesAsOfMs)
        w.optional(equity) { w, v in w.decimal(v) }
        w.varint(equitySeq)
        w.svarint(equityAsOfMs)
        w.sortedMap(marks) { w, m in
            w.decimal(m.mark)
            w.varint(m.seq)
        }
        w.sortedMap(fills) { w, f in
            w.fill(f.record)
            w.varint(f.seq)
        }
        w.list(fillCoverage) { w, r in
            w.svarint(r.fromMs)
            w.svarint(r.toMs)
        }
        w.sortedMap(positionHistory) { w, p in
            let x = p.record
            w.string(x.symbol)
            w.u8(x.side == .long ? 0 : 1)
            w.decimal(x.qty)
            w.decimal(x.entryPrice)
            w.svarint(x.entryTsMs)
            w.decimal(x.closePrice)
            w.svarint(x.closeTsMs)
            w.decimal(x.realizedPnl)
            w.decimal(x.commission)
            w.decimal(x.netPnl)
            w.varint(p.seq)
        }
        w.list(positionHistoryCoverage) { w, r in
            w.svarint(r.fromMs)
            w.svarint(r.toMs)
        }
        w.optional(latestAsOfMs) { w, v in w.svarint(v) }
        w.varint(latestSeq)
        w.optional(latestSnapshotMs) { w, v in w.svarint(v) }
        w.varint(lastSeq)
    }

    static func decode(_ r: inout ByteReader) throws(CodecError) -> RemoteProjection {
        var p = RemoteProjection()
        p.positions = try ScopedSection.decode(&r, ByteReader.readPosition)
        p.openOrders = try ScopedSection.decode(&r, ByteReader.readOpenOrder)
        p.balances = try r.optional { (r: inout ByteReader) throws(CodecError) in
            try r.map { (r: inout ByteReader) throws(CodecError) in RemoteBalance(asset: try r.string(), total: try r.decimal()) }
        }
        p.balancesSeq = try r.varint()
        p.balancesAsOfMs = try r.svarint()
        p.equity = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.decimal() }
        p.equitySeq = try r.varint()
        p.equityAsOfMs = try r.svarint()
        p.marks = try r.map { (r: inout ByteReader) throws(CodecError) in MarkState(mark: try r.decimal(), seq: try r.varint()) }
        p.fills = try r.map { (r: inout ByteReader) throws(CodecError) in RemoteFill(record: try r.fill(), seq: try r.varint()) }
        p.fillCoverage = try r.list { (r: inout ByteReader) throws(CodecError) in TimeRange(fromMs: try r.svarint(), toMs: try r.svarint()) }
        p.positionHistory = try r.mapWithKey { (key: String, r: inout ByteReader) throws(CodecError) in
            let record = ClosedPositionRecord(
                positionId: key, symbol: try r.string(), side: try r.u8() == 0 ? .long : .short, qty: try r.decimal(),
                entryPrice: try r.decimal(), entryTsMs: try r.svarint(), closePrice: try r.decimal(), closeTsMs: try r.svarint(),
                realizedPnl: try r.decimal(), commission: try r.decimal(), netPnl: try r.decimal())
            return RemoteClosedPosition(record: record, seq: try r.varint())
        }
        p.positionHistoryCoverage = try r.list { (r: inout ByteReader) throws(CodecError) in TimeRange(fromMs: try r.svarint(), toMs: try r.svarint()) }
        p.latestAsOfMs = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.svarint() }
        p.latestSeq = try r.varint()
        p.latestSnapshotMs = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.svarint() }
        p.lastSeq = try r.varint()
        return p
    }
}

extension ScopedSection {
    func encode(into w: inout ByteWriter, _ item: (inout ByteWriter, Item) -> Void) {
        w.sortedMap(items) { w, e in
            item(&w, e.item)
            w.string(e.symbol)
            w.varint(e.seq)
            w.svarint(e.asOfMs)
        }
        w.u8(coversAll ? 1 : 0)
        w.varint(allSeq)
        w.svarint(allAsOfMs)
        w.sortedMap(coveredSymbols) { w, c in
            w.varint(c.seq)
            w.svarint(c.asOfMs)
        }
    }

    static func decode(_ r: inout ByteReader, _ item: (inout ByteReader) throws(CodecError) -> Item) throws(CodecError) -> ScopedSection {
        var s = ScopedSection()
        s.items = try r.map { (r: inout ByteReader) throws(CodecError) in
            Entry(item: try item(&r), symbol: try r.string(), seq: try r.varint(), asOfMs: try r.svarint())
        }
        s.coversAll = try r.u8() == 1
        s.allSeq = try r.varint()
        s.allAsOfMs = try r.svarint()
        s.coveredSymbols = try r.map { (r: inout ByteReader) throws(CodecError) in Coverage(seq: try r.varint(), asOfMs: try r.svarint()) }
        return s
    }
}

/// A map key stored as its string: plain strings and ids.
protocol StoredKey: Hashable, Comparable {
    init(_ string: String)
    var string: String { get }
}

extension String: StoredKey {
    var string: String { self }
}

extension IDKey: StoredKey {}

extension ByteWriter {
    /// A string-keyed map, keys sorted so equal maps give equal bytes.
    mutating func sortedMap<K: StoredKey, V>(_ map: [K: V], _ value: (inout ByteWriter, V) -> Void) {
        varint(UInt64(map.count))
        for key in map.keys.sorted() {
            string(key.string)
            value(&self, map[key]!)
        }
    }

    mutating func closedPosition(_ c: ClosedPosition) {
        string(c.symbol)
        u8(c.side == .long ? 0 : 1)
        decimal(c.qty)
        svarint(c.entryTsMs)
        decimal(c.entryPrice)
        decimal(c.closePrice)
        svarint(c.closeTsMs)
        decimal(c.realizedPnl)
        decimal(c.commission)
        decimal(c.netPnl)
        varint(c.openSeq)
        varint(c.closeSeq)
        u8(c.synthetic ? 1 : 0)
    }

    mutating func closedOrder(_ e: ClosedOrders.Entry) {
        string(e.orderId)
        orderStatus(e.order.status)
        string(e.order.symbol)
        decimal(e.order.qty)
        decimal(e.order.filled)
        varint(e.order.closedSeq)
        svarint(e.order.closedTsMs)
    }

    /// One byte: closed orders are most of a checkpoint's entries.
    mutating func orderStatus(_ status: OrderStatus) {
        switch status {
        case .open: u8(0)
        case .partiallyFilled: u8(1)
        case .filled: u8(2)
        case .canceled: u8(3)
        case .rejected: u8(4)
        }
    }
}

extension ByteReader {
    mutating func closedPosition() throws(CodecError) -> ClosedPosition {
        ClosedPosition(symbol: try string(), side: try u8() == 0 ? .long : .short, qty: try decimal(), entryTsMs: try svarint(),
                       entryPrice: try decimal(), closePrice: try decimal(), closeTsMs: try svarint(),
                       realizedPnl: try decimal(), commission: try decimal(), netPnl: try decimal(),
                       openSeq: try varint(), closeSeq: try varint(), synthetic: try u8() == 1)
    }

    mutating func closedOrder() throws(CodecError) -> ClosedOrders.Entry {
        let orderId = try string()
        return ClosedOrders.Entry(
            orderId: orderId,
            order: ClosedOrder(status: try orderStatus(), symbol: try string(), qty: try decimal(), filled: try decimal(),
                               closedSeq: try varint(), closedTsMs: try svarint()))
    }

    mutating func orderStatus() throws(CodecError) -> OrderStatus {
        switch try u8() {
        case 0: return .open
        case 1: return .partiallyFilled
        case 2: return .filled
        case 3: return .canceled
        case 4: return .rejected
        default: throw .malformed("order status")
        }
    }

    mutating func mapWithKey<K: StoredKey, V>(_ value: (String, inout ByteReader) throws(CodecError) -> V) throws(CodecError) -> [K: V] {
        let count = try length()
        var result: [K: V] = [:]
        result.reserveCapacity(count)
        for _ in 0..<count {
            let key = try string()
            result[K(key)] = try value(key, &self)
        }
        return result
    }

    mutating func map<K: StoredKey, V>(_ value: (inout ByteReader) throws(CodecError) -> V) throws(CodecError) -> [K: V] {
        let count = try length()
        var result: [K: V] = [:]
        result.reserveCapacity(count)
        for _ in 0..<count {
            let key = try string()
            result[K(key)] = try value(&self)
        }
        return result
    }
}

extension PerpPosition {
    /// Restores a position from its stored quantity and cost basis.
    init(qty: ExactDecimal, cost: ExactDecimal) {
        self.init()
        self.restore(qty: qty, cost: cost)
    }
}
