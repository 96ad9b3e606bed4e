import Synchronization

/// A snapshot's list of positions or open orders: the items themselves, or,
/// when read from the log, the list's bytes, decoded at the first read.
///
/// A venue snapshot lists every position and open order, and a replay folds
/// tens of thousands of snapshots, each replacing the last before anything
/// reads it. Decoding those lists was a quarter of decoding a log, and freeing
/// them a tenth of folding it; kept as bytes, a replaced list costs a copy of
/// its bytes and one free. Its bytes are checked when the record is decoded
/// (every check decoding makes), or, when the record's header gives the list's
/// length, were written by the encoder from typed values (``SnapshotListLengths``), so
/// decoding them later cannot fail, and a damaged record is refused where it
/// always was.
public struct SnapshotList<Item: Sendable & Equatable>: Sendable, Equatable {
    private enum Storage: Sendable {
        case items([Item])
        case encoded(EncodedItems<Item>)
    }

    private let storage: Storage

    public init(_ items: [Item]) {
        storage = .items(items)
    }

    init(encoded: EncodedItems<Item>) {
        storage = .encoded(encoded)
    }

    /// The items, in the venue's order.
    public var items: [Item] {
        switch storage {
        case .items(let items): items
        case .encoded(let encoded): encoded.items
        }
    }

    /// Kept as bytes (decoded at the first read).
    var isEncoded: Bool {
        if case .encoded = storage { return true }
        return false
    }

    public var count: Int {
        switch storage {
        case .items(let items): items.count
        case .encoded(let encoded): encoded.count
        }
    }

    /// Equal when they list the same items, however each is held.
    public static func == (lhs: SnapshotList, rhs: SnapshotList) -> Bool {
        lhs.items == rhs.items
    }
}

extension SnapshotList where Item: SectionItem {
    /// The last item listed under `key`; a list still held as bytes is walked
    /// (its items begin with their key), not decoded.
    func lastItem(keyed key: String) -> Item? {
        switch storage {
        case .items(let items): items.last { $0.sectionKey == key }
        case .encoded(let encoded): encoded.lastItem(keyed: key)
        }
    }
}

extension SnapshotList where Item: SectionItem {
    /// Whether both list the same keys in the same order: for two lists the
    /// decoder gave with their keys' digests, whether the digests are equal
    /// (neither is decoded); for others, their items' keys compared as bytes.
    func hasSameKeys(as other: SnapshotList) -> Bool {
        guard count == other.count else { return false }
        if case .encoded(let mine) = storage, case .encoded(let theirs) = other.storage,
           let mine = mine.keysDigest, let theirs = theirs.keysDigest {
            return mine == theirs
        }
        return items.elementsEqual(other.items) { IDKey($0.sectionKey) == IDKey($1.sectionKey) }
    }
}

/// A snapshot list as found in a record's bytes (``ByteReader/findSnapshotList``).
enum FoundList {
    case absent
    case empty
    case found(count: Int, range: Range<Int>, keysDigest: KeysDigest?)

    /// The list, its items read from `shared`, a copy of the record's bytes from
    /// offset `start` on (``ByteReader/copy(spanning:)``).
    func list<Item>(in shared: (bytes: [UInt8], start: Int),
                    checkItem: @escaping @Sendable (inout ByteReader) throws(CodecError) -> Void,
                    readItem: @escaping @Sendable (inout ByteReader) throws(CodecError) -> Item) -> SnapshotList<Item>? {
        switch self {
        case .absent: return nil
        case .empty: return SnapshotList([])
        case .found(let count, let range, let keysDigest):
            return SnapshotList(encoded: EncodedItems(bytes: shared.bytes, range: range.lowerBound - shared.start..<range.upperBound - shared.start,
                                                      count: count, keysDigest: keysDigest, readItem: readItem, skipItem: checkItem))
        }
    }
}

/// A digest of a list's keys, in order: 128 bits, two chains of `IDHash` from
/// two seeds, each key hashed with the chain so far as its seed, so the order
/// counts. Worked out by the decoding thread as it checks a list, so that the
/// fold tells a list that repeats the last one's keys by comparing two numbers
/// (comparing the keys' bytes there was a tenth of a full fold). Two key lists
/// colliding on 128 bits is not a practical concern, as for the settled fills'
/// keys.
struct KeysDigest: Sendable, Equatable {
    private var first: UInt64 = 0x243F_6A88_85A3_08D3
    private var second: UInt64 = 0x1319_8A2E_0370_7344

    /// Adds the key of `count` bytes at `offset` in `bytes`.
    @inline(__always) mutating func add(_ bytes: UnsafeRawBufferPointer, offset: Int, count: Int) {
        if let (low, high) = SmallString.words(bytes, offset: offset, count: count) {
            first = IDHash.hashWords(low, high, count: UInt64(count), seed: first)
            second = IDHash.hashWords(low, high, count: UInt64(count), seed: second)
        } else {
            let key = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
            first = IDHash.hash(key, seed: first)
            second = IDHash.hash(key, seed: second)
        }
    }
}

/// A list's items as the codec wrote them, back to back, each beginning with
/// its key as a string, with the reader of one item and the step over one;
/// decoded once, at the first read.
final class EncodedItems<Item: Sendable>: Sendable {
    /// Shared with the snapshot's other lists (one copy of the record's bytes
    /// for all of them); this list's items are `range` of it.
    private let bytes: [UInt8]
    private let range: Range<Int>
    let count: Int
    /// Its keys' digest, when the decoder worked it out.
    let keysDigest: KeysDigest?
    private let readItem: @Sendable (inout ByteReader) throws(CodecError) -> Item
    private let skipItem: @Sendable (inout ByteReader) throws(CodecError) -> Void
    private let decoded = Mutex<AnyObject?>(nil)

    /// `bytes` must hold `count` items that `readItem` reads and `skipItem`
    /// steps over without failing (checked by the walk that found their end, or
    /// written by the encoder that gave their length).
    init(bytes: [UInt8], range: Range<Int>, count: Int, keysDigest: KeysDigest?,
         readItem: @escaping @Sendable (inout ByteReader) throws(CodecError) -> Item,
         skipItem: @escaping @Sendable (inout ByteReader) throws(CodecError) -> Void) {
        self.bytes = bytes
        self.range = range
        self.count = count
        self.keysDigest = keysDigest
        self.readItem = readItem
        self.skipItem = skipItem
    }

    /// The last item keyed `key`, decoded alone. A key's history asks once per
    /// snapshot of a list nothing else reads; walking the bytes spares decoding
    /// and indexing every item on the folding thread.
    func lastItem(keyed key: String) -> Item? {
        var key = key
        return key.withUTF8 { wanted in
            reading { (r: inout ByteReader) throws(CodecError) -> Item? in
                var found: Int?
                for _ in 0..<count {
                    let start = r.offset
                    let length = try r.length()
                    if length == wanted.count && UnsafeRawBufferPointer(rebasing: r.base[r.offset..<r.offset + length]).elementsEqual(wanted) {
                        found = start
                    }
                    r.offset = start
                    try skipItem(&r)
                }
                guard let found else { return nil }
                r.offset = found
                return try readItem(&r)
            }
        }
    }

    var items: [Item] {
        decoded.once {
            reading { (r: inout ByteReader) throws(CodecError) in try r.items(count, readItem) }
        }
    }

    /// Reads the bytes, which were checked: a failure here is a bug (or damage the
    /// CRC missed, 1 in 2³²), and stops the process rather than answer wrongly.
    private func reading<R>(_ body: (inout ByteReader) throws(CodecError) -> R) -> R {
        bytes.withUnsafeBytes { raw in
            var r = ByteReader(UnsafeRawBufferPointer(rebasing: raw[range]))
            do {
                return try body(&r)
            } catch {
                preconditionFailure("a snapshot list checked when its record was read, or written by the encoder, no longer decodes (run `recon verify`): \(error)")
            }
        }
    }
}

extension Mutex where Value == AnyObject? {
    /// The value `make` made at the first call, the same one after.
    ///
    /// Held behind a type-erased reference because a generic class whose
    /// stored lock holds a value of its generic type looks up that type's
    /// runtime metadata each time one is freed (4 % of a replay, which frees
    /// a replaced snapshot list at every snapshot). One lock, one `T`.
    func once<T: Sendable>(_ make: () -> T) -> T {
        withLock { held in
            if let held { return unsafeDowncast(held, to: Made<T>.self).value }
            let value = make()
            held = Made(value)
            return value
        }
    }
}

private final class Made<T: Sendable>: Sendable {
    let value: T

    init(_ value: T) {
        self.value = value
    }
}

/// The byte lengths of a snapshot's positions and open orders (their items,
/// after the count), for a list that is present and not empty; nil for the
/// others and for every record that is not a snapshot.
///
/// The codec's lists carry counts, not lengths, so finding where a list ends
/// meant stepping over every item: a fifth of decoding a log, most of whose
/// bytes are snapshot lists. The lengths cannot go into the content (the chain,
/// every `run_id` and the id index's body hashes are computed over it), so the
/// store keeps them in the record's header, as the encoder returns them: it
/// writes each item from typed values (a scale within bounds, a side, a flag of
/// 0 or 1), so nothing it writes fails decoding's checks, and the header is
/// inside the record's CRC, so a list taken whole by its length is what the
/// encoder wrote. `recon verify` still steps over every item (``measure(_:)``)
/// and compares.
public struct SnapshotListLengths: Sendable, Equatable {
    public var positions: Int?
    public var openOrders: Int?

    public static let none = SnapshotListLengths(positions: nil, openOrders: nil)

    public init(positions: Int?, openOrders: Int?) {
        self.positions = positions
        self.openOrders = openOrders
    }

    /// The lengths of the snapshot whose content (as ``EventCodec`` writes it) is
    /// `content`, found by stepping over its lists, making every check decoding
    /// makes (`recon verify` compares them with the header's); ``none`` for any
    /// other event, and for content that does not decode.
    public static func measure(_ content: UnsafeRawBufferPointer) -> SnapshotListLengths {
        var r = ByteReader(content)
        do throws(CodecError) {
            guard try r.u8() == EventType.exchangeSnapshot.rawValue else { return .none }
            try r.skipString()
            try r.skipString()
            _ = try r.svarint()
            if try r.isPresent() { try r.skipString() }
            return SnapshotListLengths(positions: try r.listItemBytes(ByteReader.skipPosition),
                                       openOrders: try r.listItemBytes(ByteReader.skipOpenOrder))
        } catch {
            return .none
        }
    }
}

extension ByteReader {
    /// Where an optional list of a snapshot lies, its items checked (see
    /// ``SnapshotList``). `checkItem` steps over one item making every check
    /// `readItem` makes, so a damaged list is refused here, as if it were
    /// decoded; unless `itemBytes`, the items' length the encoder gave when the
    /// record was written (``SnapshotListLengths``), says where they end. Every
    /// item begins with its key, a string; `digestingKeys` works out the keys'
    /// digest as the items are checked (a list whose length is not given).
    mutating func findSnapshotList(itemBytes: Int?, digestingKeys: Bool = false,
                                   checkItem: (inout ByteReader) throws(CodecError) -> Void) throws(CodecError) -> FoundList {
        guard try isPresent() else {
            guard itemBytes == nil else { throw .malformed("a list length for an absent snapshot list") }
            return .absent
        }
        let count = try length()
        guard count > 0 else {
            guard itemBytes == nil else { throw .malformed("a list length for an empty snapshot list") }
            return .empty
        }
        let start = offset
        var keysDigest: KeysDigest?
        if let itemBytes {
            // Every item takes at least a byte; a length outside the record is damage.
            guard itemBytes >= count && itemBytes <= remaining else { throw .malformed("snapshot list length \(itemBytes)") }
            offset += itemBytes
        } else if digestingKeys {
            var digest = KeysDigest()
            for _ in 0..<count {
                let item = offset
                let keyBytes = try length()
                digest.add(base, offset: offset, count: keyBytes)
                offset = item
                try checkItem(&self)
            }
            keysDigest = digest
        } else {
            for _ in 0..<count { try checkItem(&self) }
        }
        return .found(count: count, range: start..<offset, keysDigest: keysDigest)
    }

    /// One copy of the bytes from the first found list's start to the last one's
    /// end (`lists` in the order they lie), for all of them to share: a
    /// snapshot's lists take one allocation,
    /// not one each (the allocator's path for blocks of kilobytes was a quarter
    /// of keeping them).
    mutating func copy(spanning lists: FoundList...) -> (bytes: [UInt8], start: Int) {
        var span: Range<Int>?
        for case .found(_, let range, _) in lists {
            span = span.map { $0.lowerBound..<range.upperBound } ?? range
        }
        guard let span else { return ([], 0) }
        madeObjects = true
        return ([UInt8](UnsafeRawBufferPointer(rebasing: base[span])), span.lowerBound)
    }
    /// The byte length of an optional list's items, each stepped over by
    /// `skipItem`; nil when the list is absent or empty.
    mutating func listItemBytes(_ skipItem: (inout ByteReader) throws(CodecError) -> Void) throws(CodecError) -> Int? {
        guard try isPresent() else { return nil }
        let count = try length()
        guard count > 0 else { return nil }
        let start = offset
        for _ in 0..<count { try skipItem(&self) }
        return offset - start
    }

    /// An optional value's flag.
    mutating func isPresent() throws(CodecError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw .malformed("bad optional flag")
        }
    }

    @inline(__always) mutating func skipString() throws(CodecError) {
        offset += try length()
    }

    /// Steps over a decimal, refusing what `decimal()` refuses: a scale above
    /// ``ExactDecimal/maxScale`` or a significand of more than 19 varint bytes.
    @inline(__always) mutating func skipDecimal() throws(CodecError) {
        guard offset < base.count else { throw .truncated }
        let scale = base[offset]
        guard scale <= ExactDecimal.maxScale else { throw .malformed("decimal scale \(scale)") }
        // The significand's varint up to its last byte: found in one word (the
        // first byte without its high bit) when eight bytes can be read, as for
        // nearly every decimal of a snapshot.
        if let (_, lastBit) = varintInOneWord(at: offset + 1) {
            offset += 1 + (lastBit + 1) / 8
            return
        }
        var at = offset + 1
        let tooLong = at + 19
        while at < base.count {
            guard at < tooLong else { throw .malformed("decimal overflows 128 bits") }
            let byte = base[at]
            at += 1
            if byte & 0x80 == 0 {
                offset = at
                return
            }
        }
        throw .truncated
    }

    static func skipPosition(_ r: inout ByteReader) throws(CodecError) {
        try r.skipString()
        try r.skipDecimal()
        try r.skipDecimal()
    }

    static func readPosition(_ r: inout ByteReader) throws(CodecError) -> RemotePosition {
        RemotePosition(symbol: try r.string(), qty: try r.decimal(), entryPrice: try r.decimal())
    }

    static func skipOpenOrder(_ r: inout ByteReader) throws(CodecError) {
        try r.skipString()
        try r.skipString()
        _ = try r.side()
        try r.skipDecimal()
        try r.skipDecimal()
        if try r.isPresent() { try r.skipDecimal() }
    }

    static func skipMarkPrice(_ r: inout ByteReader) throws(CodecError) {
        try r.skipString()
        try r.skipDecimal()
    }

    static func readMarkPrice(_ r: inout ByteReader) throws(CodecError) -> MarkPrice {
        MarkPrice(symbol: try r.string(), mark: try r.decimal())
    }

    static func readOpenOrder(_ r: inout ByteReader) throws(CodecError) -> RemoteOrder {
        RemoteOrder(orderId: try r.string(), symbol: try r.string(), side: try r.side(), qty: try r.decimal(),
                    remaining: try r.decimal(), price: try r.optional { (r: inout ByteReader) throws(CodecError) in try r.decimal() })
    }
}
