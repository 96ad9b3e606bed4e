/// The compact binary form of an event's content, as stored in the log.
///
/// Layout (version 1), all integers LEB128 varints, signed ones zigzag-encoded:
/// `type:u8 id:str account:str ts_ms:svarint venue:opt<str> body…`, where
/// `str` is `len:varint bytes`, `opt<T>` is `0` or `1 T`, a decimal is
/// `scale:u8 significand:svarint128`, a list is `count:varint items…`, and a body
/// is its type's fields in the order of the contract's tables. The record header
/// around it (version, CRC32C, chain hash, ingest time) belongs to the store.
/// See ARCHITECTURE.md "Storage codec".
public enum EventCodec {
    /// Bumped on any change to the layout above; old versions stay readable.
    public static let version: UInt8 = 1

    /// Appends `event`'s content to `w`; returns a snapshot's list lengths (for
    /// the record's header, see ``SnapshotListLengths``), ``SnapshotListLengths/none``
    /// for any other event.
    @discardableResult
    public static func encode(_ event: Event, into w: inout ByteWriter) -> SnapshotListLengths {
        w.u8(event.type.rawValue)
        w.string(event.id)
        w.string(event.account)
        w.svarint(event.tsMs)
        w.optional(event.venue) { w, v in w.string(v) }
        switch event.body {
        case .instrument(let x):
            w.string(x.symbol)
            w.u8(x.kind == .spot ? 0 : 1)
            w.string(x.base)
            w.string(x.quote)
            w.decimal(x.contractSize)
        case .orderSubmitted(let x):
            w.string(x.orderId)
            w.string(x.symbol)
            w.side(x.side)
            w.decimal(x.qty)
            w.optional(x.price) { w, v in w.decimal(v) }
            w.u8(x.orderType == .limit ? 0 : 1)
            w.u8((x.postOnly ? 1 : 0) | (x.reduceOnly ? 2 : 0))
        case .orderCanceled(let x):
            w.string(x.orderId)
        case .orderRejected(let x):
            w.string(x.orderId)
            w.string(x.reason)
        case .fill(let x):
            w.fill(x)
        case .transfer(let x):
            w.string(x.asset)
            w.decimal(x.amount)
            w.u8(UInt8(TransferKind.allCases.firstIndex(of: x.kind)!))
        case .exchangeSnapshot(let x):
            let positions = w.optionalList(x.positions) { w, p in w.remotePosition(p) }
            let openOrders = w.optionalList(x.openOrders) { w, o in w.remoteOrder(o) }
            w.optional(x.balances) { w, list in
                w.list(list) { w, b in
                    w.string(b.asset)
                    w.decimal(b.total)
                }
            }
            w.optional(x.equity) { w, v in w.decimal(v) }
            w.optional(x.prices) { w, list in
                w.list(list) { w, m in
                    w.string(m.symbol)
                    w.decimal(m.mark)
                }
            }
            w.optional(x.symbols) { w, list in w.list(list) { w, s in w.string(s) } }
            return SnapshotListLengths(positions: positions, openOrders: openOrders)
        case .exchangeFills(let x):
            w.svarint(x.fromMs)
            w.svarint(x.toMs)
            w.list(x.fills) { w, f in w.fill(f) }
        case .exchangePositionHistory(let x):
            w.svarint(x.fromMs)
            w.svarint(x.toMs)
            w.list(x.positions) { w, p in
                w.string(p.positionId)
                w.string(p.symbol)
                w.u8(p.side == .long ? 0 : 1)
                w.decimal(p.qty)
                w.decimal(p.entryPrice)
                w.svarint(p.entryTsMs)
                w.decimal(p.closePrice)
                w.svarint(p.closeTsMs)
                w.decimal(p.realizedPnl)
                w.decimal(p.commission)
                w.decimal(p.netPnl)
            }
        case .reconRequested(let x):
            w.string(x.requestedBy)
        case .correction(let x):
            w.string(x.key)
            w.string(x.sourceRunId)
            w.string(x.approvedBy)
            switch x.effect {
            case .fill(let f):
                w.u8(0)
                w.fill(f)
            case .positionAdjustment(let symbol, let qtyDelta, let price):
                w.u8(1)
                w.string(symbol)
                w.decimal(qtyDelta)
                w.decimal(price)
            case .balanceAdjustment(let asset, let amount):
                w.u8(2)
                w.string(asset)
                w.decimal(amount)
            }
        }
        return .none
    }

    public static func encode(_ event: Event) -> [UInt8] {
        var w = ByteWriter()
        encode(event, into: &w)
        return w.bytes
    }

    /// Decodes one event. A snapshot's positions and open orders are checked
    /// and kept as their bytes, decoded at their first read (see ``SnapshotList``).
    public static func decode(_ r: inout ByteReader) throws(CodecError) -> Event {
        try movedOut { (memory) throws(CodecError) in try decode(&r, into: memory) }
    }

    /// Decodes one event into `memory`, which must be uninitialized and is left
    /// uninitialized on a throw.
    ///
    /// Each field is written where it stays: an event returned by value (some
    /// 270 bytes) was moved whole six times on its way from here into a reader's
    /// chunk, a tenth of decoding a log. Each body is written into place by the
    /// case that decodes it.
    ///
    /// `listLengths`, when the record's header carries them, are the byte
    /// lengths of a snapshot's lists as the encoder returned them when the record
    /// was written: the lists are then taken whole instead of walked.
    public static func decode(_ r: inout ByteReader, listLengths: SnapshotListLengths = .none,
                              into memory: UnsafeMutablePointer<Event>) throws(CodecError) {
        guard let type = EventType(rawValue: try r.u8()) else { throw CodecError.malformed("unknown event type tag") }
        let id = try r.string()
        let account = try r.string()
        let tsMs = try r.svarint()
        let venue = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.string() }
        guard type == .exchangeSnapshot || listLengths == .none else {
            throw CodecError.malformed("list lengths on a record that is not a snapshot")
        }
        let raw = UnsafeMutableRawPointer(memory)
        try decodeBody(type, &r, listLengths: listLengths, into: raw.field(at: EventFields.body, as: EventBody.self))
        raw.field(at: EventFields.id, as: String.self).initialize(to: id)
        raw.field(at: EventFields.account, as: String.self).initialize(to: account)
        raw.field(at: EventFields.tsMs, as: Int64.self).initialize(to: tsMs)
        raw.field(at: EventFields.venue, as: String?.self).initialize(to: venue)
    }

    /// Decodes one event into `memory` as the log's `seq`, learned at
    /// `ingestMs`; `memory` must be uninitialized and is left so on a throw.
    public static func decode(_ r: inout ByteReader, seq: UInt64, ingestMs: Int64, listLengths: SnapshotListLengths = .none,
                              into memory: UnsafeMutablePointer<LoggedEvent>) throws(CodecError) {
        let raw = UnsafeMutableRawPointer(memory)
        try decode(&r, listLengths: listLengths, into: raw.field(at: EventFields.loggedEvent, as: Event.self))
        raw.field(at: EventFields.loggedSeq, as: UInt64.self).initialize(to: seq)
        raw.field(at: EventFields.loggedIngestMs, as: Int64.self).initialize(to: ingestMs)
    }

    private static func decodeBody(_ type: EventType, _ r: inout ByteReader, listLengths: SnapshotListLengths,
                                   into body: UnsafeMutablePointer<EventBody>) throws(CodecError) {
        switch type {
        case .instrument:
            body.initialize(to: .instrument(Instrument(symbol: try r.string(), kind: try r.u8() == 0 ? .spot : .perp,
                                                       base: try r.string(), quote: try r.string(), contractSize: try r.decimal())))
        case .orderSubmitted:
            let orderId = try r.string()
            let symbol = try r.string()
            let side = try r.side()
            let qty = try r.decimal()
            let price = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.decimal() }
            let orderType: OrderType = try r.u8() == 0 ? .limit : .market
            let flags = try r.u8()
            body.initialize(to: .orderSubmitted(OrderSubmitted(orderId: orderId, symbol: symbol, side: side, qty: qty, price: price,
                                                               orderType: orderType, postOnly: flags & 1 != 0, reduceOnly: flags & 2 != 0)))
        case .orderCanceled:
            body.initialize(to: .orderCanceled(OrderCanceled(orderId: try r.string())))
        case .orderRejected:
            body.initialize(to: .orderRejected(OrderRejected(orderId: try r.string(), reason: try r.string())))
        case .fill:
            body.initialize(to: .fill(try r.fill()))
        case .transfer:
            let asset = try r.string()
            let amount = try r.decimal()
            let kindIndex = Int(try r.u8())
            guard kindIndex < TransferKind.allCases.count else { throw CodecError.malformed("unknown transfer kind") }
            body.initialize(to: .transfer(Transfer(asset: asset, amount: amount, kind: TransferKind.allCases[kindIndex])))
        case .exchangeSnapshot:
            let positions = try r.findSnapshotList(itemBytes: listLengths.positions, checkItem: ByteReader.skipPosition)
            let orders = try r.findSnapshotList(itemBytes: listLengths.openOrders, checkItem: ByteReader.skipOpenOrder)
            let balances = try r.optional { (r: inout ByteReader) throws(CodecError) in
                try r.list { (r: inout ByteReader) throws(CodecError) in RemoteBalance(asset: try r.string(), total: try r.decimal()) }
            }
            let equity = try r.optional { (r: inout ByteReader) throws(CodecError) in try r.decimal() }
            let prices = try r.findSnapshotList(itemBytes: nil, digestingKeys: true, checkItem: ByteReader.skipMarkPrice)
            let symbols = try r.optional { (r: inout ByteReader) throws(CodecError) in
                try r.list { (r: inout ByteReader) throws(CodecError) in try r.string() }
            }
            let shared = r.copy(spanning: positions, orders, prices)
            body.initialize(to: .exchangeSnapshot(ExchangeSnapshot(
                positionList: positions.list(in: shared, checkItem: ByteReader.skipPosition, readItem: ByteReader.readPosition),
                openOrderList: orders.list(in: shared, checkItem: ByteReader.skipOpenOrder, readItem: ByteReader.readOpenOrder),
                balances: balances, equity: equity,
                priceList: prices.list(in: shared, checkItem: ByteReader.skipMarkPrice, readItem: ByteReader.readMarkPrice),
                symbols: symbols)))
        case .exchangeFills:
            let from = try r.svarint()
            let to = try r.svarint()
            let fills = try r.list { (r: inout ByteReader) throws(CodecError) in try r.fill() }
            body.initialize(to: .exchangeFills(ExchangeFills(fromMs: from, toMs: to, fills: fills)))
        case .exchangePositionHistory:
            let from = try r.svarint()
            let to = try r.svarint()
            let positions = try r.list { (r: inout ByteReader) throws(CodecError) in
                ClosedPositionRecord(
                    positionId: try r.string(), symbol: try r.string(), side: try r.u8() == 0 ? .long : .short,
                    qty: try r.decimal(), entryPrice: try r.decimal(), entryTsMs: try r.svarint(),
                    closePrice: try r.decimal(), closeTsMs: try r.svarint(), realizedPnl: try r.decimal(),
                    commission: try r.decimal(), netPnl: try r.decimal())
            }
            body.initialize(to: .exchangePositionHistory(ExchangePositionHistory(fromMs: from, toMs: to, positions: positions)))
        case .reconRequested:
            body.initialize(to: .reconRequested(ReconRequested(requestedBy: try r.string())))
        case .correction:
            let key = try r.string()
            let sourceRunId = try r.string()
            let approvedBy = try r.string()
            let effect: CorrectionEffect
            switch try r.u8() {
            case 0: effect = .fill(try r.fill())
            case 1: effect = .positionAdjustment(symbol: try r.string(), qtyDelta: try r.decimal(), price: try r.decimal())
            case 2: effect = .balanceAdjustment(asset: try r.string(), amount: try r.decimal())
            default: throw CodecError.malformed("unknown correction effect")
            }
            body.initialize(to: .correction(Correction(key: key, sourceRunId: sourceRunId, approvedBy: approvedBy, effect: effect)))
        }
    }
}

/// Why stored bytes could not be read back. A store wraps it with the seq.
public enum CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated
    case malformed(String)

    public var description: String {
        switch self {
        case .truncated: return "record is truncated"
        case .malformed(let why): return "record is malformed: \(why)"
        }
    }
}

/// Appends the codec's primitives to a byte buffer.
///
/// The buffer is owned memory, not an array: an array append checks that its
/// storage is unique and has room at every byte, which was a third of encoding
/// an event. Here each primitive makes room once for its largest size (a varint
/// takes at most 10 bytes, a decimal 20) and then stores bytes plainly.
/// Noncopyable, so the memory has exactly one owner and is freed with it.
public struct ByteWriter: ~Copyable, @unchecked Sendable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0
    /// False while writing into memory the caller lent (see `init(into:)`).
    private var ownsMemory = true

    public init(capacity: Int = 256) {
        self.capacity = max(capacity, 32)
        base = .allocate(capacity: self.capacity)
    }

    /// Writes into `memory` (at least 32 bytes), which must outlive the writer,
    /// moving to memory of its own only if the bytes outgrow it: a short-lived
    /// encoding (a fill hashed as it folds) costs no allocation.
    public init(into memory: UnsafeMutableRawBufferPointer) {
        precondition(memory.count >= 32, "a lent buffer of at least 32 bytes")
        capacity = memory.count
        base = memory.baseAddress!.assumingMemoryBound(to: UInt8.self)
        ownsMemory = false
    }

    deinit { if ownsMemory { base.deallocate() } }

    /// A copy of the bytes written.
    public var bytes: [UInt8] { [UInt8](UnsafeBufferPointer(start: base, count: count)) }

    /// The bytes written, valid only inside `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Empties the buffer, keeping its memory.
    public mutating func removeAll() { count = 0 }

    /// Makes room for `extra` more bytes.
    @inline(__always) mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    @inline(never) private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        if ownsMemory { base.deallocate() }
        ownsMemory = true
        base = newBase
        capacity = newCapacity
    }

    /// Stores a byte where `reserve` made room.
    @inline(__always) private mutating func put(_ v: UInt8) {
        base[count] = v
        count += 1
    }

    @inline(__always) public mutating func u8(_ v: UInt8) {
        reserve(1)
        put(v)
    }

    public mutating func u32le(_ v: UInt32) {
        reserve(4)
        for shift in stride(from: 0, to: 32, by: 8) { put(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }

    public mutating func u64le(_ v: UInt64) {
        reserve(8)
        for shift in stride(from: 0, to: 64, by: 8) { put(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    /// Overwrites four bytes already written (a checksum filled in last).
    public mutating func setU32le(_ v: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= count, "setU32le outside the written bytes")
        for k in 0..<4 { base[offset + k] = UInt8(truncatingIfNeeded: v >> UInt32(8 * k)) }
    }

    /// Appends raw bytes.
    public mutating func append(_ raw: UnsafeRawBufferPointer) {
        guard raw.count > 0 else { return }
        reserve(raw.count)
        (base + count).initialize(from: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), count: raw.count)
        count += raw.count
    }

    public mutating func append(contentsOf array: [UInt8]) {
        array.withUnsafeBytes { append($0) }
    }

    @inline(__always) public mutating func varint(_ v: UInt64) {
        reserve(10)
        var v = v
        while v >= 0x80 {
            put(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        put(UInt8(v))
    }

    @inline(__always) public mutating func svarint(_ v: Int64) {
        varint(UInt64(bitPattern: (v << 1) ^ (v >> 63)))
    }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            append(UnsafeRawBufferPointer(utf8))
        }
    }

    public mutating func decimal(_ d: ExactDecimal) {
        // A scale byte and at most 19 bytes of a 128-bit varint.
        reserve(20)
        put(UInt8(d.scale))
        // Most significands fit 64 bits, whose zigzag is the same number as the
        // 128-bit one: the same bytes without 128-bit arithmetic.
        if let narrow = Int64(exactly: d.significand) {
            svarint(narrow)
            return
        }
        // Rare wide values: same LEB128 continuation over all 128 bits.
        var v = UInt128(bitPattern: (d.significand << 1) ^ (d.significand >> 127))
        while v >= 0x80 {
            put(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        put(UInt8(v))
    }

    mutating func side(_ s: Side) { u8(s == .buy ? 0 : 1) }

    public mutating func optional<T>(_ value: T?, _ write: (inout ByteWriter, T) -> Void) {
        if let value {
            u8(1)
            write(&self, value)
        } else {
            u8(0)
        }
    }

    public mutating func list<T>(_ items: [T], _ write: (inout ByteWriter, T) -> Void) {
        varint(UInt64(items.count))
        for item in items { write(&self, item) }
    }

    /// An optional list, as `optional` and `list` write it; returns its items'
    /// byte length, nil when it is absent or empty.
    mutating func optionalList<T>(_ items: [T]?, _ write: (inout ByteWriter, T) -> Void) -> Int? {
        guard let items else {
            u8(0)
            return nil
        }
        u8(1)
        varint(UInt64(items.count))
        let start = count
        for item in items { write(&self, item) }
        return items.isEmpty ? nil : count - start
    }

    /// A snapshot's position, as the log and checkpoints store it (the reader is
    /// ``ByteReader/readPosition(_:)``).
    mutating func remotePosition(_ p: RemotePosition) {
        string(p.symbol)
        decimal(p.qty)
        decimal(p.entryPrice)
    }

    /// A snapshot's open order, as the log and checkpoints store it (the reader
    /// is ``ByteReader/readOpenOrder(_:)``).
    mutating func remoteOrder(_ o: RemoteOrder) {
        string(o.orderId)
        string(o.symbol)
        side(o.side)
        decimal(o.qty)
        decimal(o.remaining)
        optional(o.price) { w, v in w.decimal(v) }
    }

    mutating func fill(_ f: FillRecord) {
        fillTrade(f)
        fillCharges(fee: f.fee, feeAsset: f.feeAsset, liquidity: f.liquidity, tsMs: f.tsMs)
    }

    /// A fill's first fields: what was traded.
    mutating func fillTrade(_ f: FillRecord) {
        string(f.fillId)
        string(f.orderId)
        string(f.symbol)
        side(f.side)
        decimal(f.qty)
        decimal(f.price)
    }

    /// A fill's last fields, after ``fillTrade``.
    mutating func fillCharges(fee: ExactDecimal?, feeAsset: String?, liquidity: Liquidity, tsMs: Int64?) {
        optional(fee) { w, v in w.decimal(v) }
        optional(feeAsset) { w, v in w.string(v) }
        u8(liquidity == .maker ? 0 : 1)
        optional(tsMs) { w, v in w.svarint(v) }
    }
}

/// Reads the codec's primitives from bytes that outlive it (copy out before the
/// storage transaction that owns them ends).
public struct ByteReader {
    let base: UnsafeRawBufferPointer
    public internal(set) var offset: Int
    /// Whether an event's decoding so far made an object: a string too long to
    /// be held in the string value, or a list with room for items (set by the
    /// reads an event uses; a projection's maps do not set it). An event read
    /// without making one refers to no object, so its copy is its bytes and
    /// dropping it frees nothing (see `EventsDecodedAhead.Chunk`).
    public internal(set) var madeObjects = false

    public init(_ base: UnsafeRawBufferPointer, offset: Int = 0) {
        self.base = base
        self.offset = offset
    }

    public var remaining: Int { base.count - offset }

    @inline(__always) public mutating func u8() throws(CodecError) -> UInt8 {
        guard offset < base.count else { throw .truncated }
        let v = base[offset]
        offset += 1
        return v
    }

    @inline(__always) public mutating func u32le() throws(CodecError) -> UInt32 {
        guard offset + 4 <= base.count else { throw .truncated }
        defer { offset += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inline(__always) public mutating func u64le() throws(CodecError) -> UInt64 {
        guard offset + 8 <= base.count else { throw .truncated }
        defer { offset += 8 }
        return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) public mutating func varint() throws(CodecError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            if shift == 63 && byte > 1 { throw .malformed("varint overflows 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw .malformed("varint overflows 64 bits") }
        }
    }

    @inline(__always) public mutating func svarint() throws(CodecError) -> Int64 {
        let z = try varint()
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    /// A length or count: a varint no larger than the bytes left (each byte or
    /// item takes at least one), checked before it becomes an `Int`, so a damaged
    /// length of 2⁶³ or more is `truncated`, not a trap.
    @inline(__always) public mutating func length() throws(CodecError) -> Int {
        // Nearly every length and count is below 128: one byte, no loop.
        if offset < base.count, base[offset] < 0x80 {
            let value = Int(base[offset])
            offset += 1
            guard value <= remaining else { throw .truncated }
            return value
        }
        let value = try varint()
        guard value <= UInt64(remaining) else { throw .truncated }
        return Int(value)
    }

    /// A counter stored as a varint; one past `Int.max` is damage.
    public mutating func nonNegativeInt() throws(CodecError) -> Int {
        guard let value = Int(exactly: try varint()) else { throw .malformed("counter overflows Int") }
        return value
    }

    public mutating func string() throws(CodecError) -> String {
        let count = try length()
        // Ids, symbols and assets: ASCII of at most 15 bytes, made in place.
        if SmallString.layoutHolds, let small = SmallString.ascii(base, offset: offset, count: count) {
            offset += count
            return small
        }
        let start = base.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
        offset += count
        // Records are checksummed before decoding and were valid UTF-8 when
        // written; the specialised decoding path (which would repair, not trap,
        // on bad bytes) avoids the generic validating initialiser's cost.
        let string = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
        // Short strings near the end of the bytes come here too, and are small.
        if SmallString.bytes(of: string) == nil { madeObjects = true }
        return string
    }

    public mutating func decimal() throws(CodecError) -> ExactDecimal {
        let scale = Int(try u8())
        guard scale <= ExactDecimal.maxScale else { throw .malformed("decimal scale \(scale)") }
        if let value = sevenByteGroupsInOneWord() {
            return ExactDecimal(significand: Int128(Int64(bitPattern: (value >> 1) ^ (0 &- (value & 1)))), scale: scale)
        }
        // Near the end of the bytes, or nine varint bytes (63 bits): still 64-bit
        // arithmetic; only a longer significand takes 128 bits.
        var narrow: UInt64 = 0
        var at = offset
        let end = Swift.min(base.count, offset + 9)
        while at < end {
            let byte = base[at]
            narrow |= UInt64(byte & 0x7F) << UInt64(7 * (at - offset))
            at += 1
            if byte & 0x80 == 0 {
                offset = at
                let value = Int64(bitPattern: (narrow >> 1) ^ (0 &- (narrow & 1)))
                return ExactDecimal(significand: Int128(value), scale: scale)
            }
        }
        var zigzag: UInt128 = 0
        var shift: UInt128 = 0
        while true {
            let byte = try u8()
            if shift > 126 { throw .malformed("decimal overflows 128 bits") }
            zigzag |= UInt128(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        let significand = Int128(bitPattern: (zigzag >> 1) ^ (0 &- (zigzag & 1)))
        return ExactDecimal(significand: significand, scale: scale)
    }

    /// A varint of at most eight bytes read from one word without a loop, or nil
    /// (nothing consumed) when it is longer or fewer than eight bytes are left.
    ///
    /// The first byte without its high bit ends the varint; the bytes after it
    /// are masked off, then the 7-bit groups are packed together pairwise
    /// (bytes into 14 bits, those into 28, those into 56).
    @inline(__always) mutating func sevenByteGroupsInOneWord() -> UInt64? {
        guard let (word, lastBit) = varintInOneWord(at: offset) else { return nil }
        var groups = (lastBit == 63 ? word : word & ((1 &<< UInt64(lastBit + 1)) &- 1)) & 0x7F7F_7F7F_7F7F_7F7F
        groups = ((groups & 0x7F00_7F00_7F00_7F00) >> 1) | (groups & 0x007F_007F_007F_007F)
        groups = ((groups & 0x3FFF_0000_3FFF_0000) >> 2) | (groups & 0x0000_3FFF_0000_3FFF)
        groups = ((groups & 0x0FFF_FFFF_0000_0000) >> 4) | (groups & 0x0000_0000_0FFF_FFFF)
        offset += (lastBit + 1) / 8
        return groups
    }

    /// The eight bytes at `at` and the bit that ends the varint starting there
    /// (the high bit of its first byte below 0x80), when eight bytes can be read
    /// and the varint ends within them; its length is `(lastBit + 1) / 8`.
    @inline(__always) func varintInOneWord(at: Int) -> (word: UInt64, lastBit: Int)? {
        guard base.count - at >= 8 else { return nil }
        let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
        let ends = ~word & 0x8080_8080_8080_8080
        return ends == 0 ? nil : (word, ends.trailingZeroBitCount)
    }

    mutating func side() throws(CodecError) -> Side {
        switch try u8() {
        case 0: return .buy
        case 1: return .sell
        default: throw .malformed("unknown side")
        }
    }

    public mutating func optional<T>(_ read: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> T? {
        switch try u8() {
        case 0: return nil
        case 1: return try read(&self)
        default: throw .malformed("bad optional flag")
        }
    }

    public mutating func list<T>(_ read: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> [T] {
        // Every item takes at least one byte: a larger count is corruption, not a list.
        try items(try length(), read)
    }

    /// `count` items, read one after another, in an array with room for
    /// `capacity` (for one the caller goes on appending to).
    mutating func items<T>(_ count: Int, capacity: Int = 0, _ read: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> [T] {
        // Each item built where it is stored: appending copied it in (a tenth
        // of decoding a snapshot).
        var failure: CodecError?
        if max(count, capacity) > 0 { madeObjects = true }
        let items = [T](unsafeUninitializedCapacity: max(count, capacity)) { buffer, initialized in
            do throws(CodecError) {
                while initialized < count {
                    (buffer.baseAddress! + initialized).initialize(to: try read(&self))
                    initialized += 1
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return items
    }

    mutating func fill() throws(CodecError) -> FillRecord {
        let fillId = try string()
        let orderId = try string()
        let symbol = try string()
        let side = try side()
        let qty = try decimal()
        let price = try decimal()
        let fee = try optional { (r: inout ByteReader) throws(CodecError) in try r.decimal() }
        let feeAsset = try optional { (r: inout ByteReader) throws(CodecError) in try r.string() }
        let liquidity: Liquidity
        switch try u8() {
        case 0: liquidity = .maker
        case 1: liquidity = .taker
        default: throw .malformed("unknown liquidity")
        }
        let tsMs = try optional { (r: inout ByteReader) throws(CodecError) in try r.svarint() }
        return FillRecord(fillId: fillId, orderId: orderId, symbol: symbol, side: side, qty: qty, price: price,
                          fee: fee, feeAsset: feeAsset, liquidity: liquidity, tsMs: tsMs)
    }
}

/// Where the stored fields of ``Event`` and ``LoggedEvent`` lie in memory, for
/// the decoder that writes them in place. Computed, so each use folds to a
/// constant (a stored `static let` is initialised lazily, and every read called
/// `swift_once`).
enum EventFields {
    static var id: Int { MemoryLayout<Event>.offset(of: \.id)! }
    static var account: Int { MemoryLayout<Event>.offset(of: \.account)! }
    static var tsMs: Int { MemoryLayout<Event>.offset(of: \.tsMs)! }
    static var venue: Int { MemoryLayout<Event>.offset(of: \.venue)! }
    static var body: Int { MemoryLayout<Event>.offset(of: \.body)! }
    static var loggedSeq: Int { MemoryLayout<LoggedEvent>.offset(of: \.seq)! }
    static var loggedIngestMs: Int { MemoryLayout<LoggedEvent>.offset(of: \.ingestMs)! }
    static var loggedEvent: Int { MemoryLayout<LoggedEvent>.offset(of: \.event)! }
}
