/// The lists of an `exchange_snapshot` that replace their whole section of the
/// remote view: positions and open orders when the snapshot has no `symbols`
/// scope, balances always.
///
/// A fold that ends at seq N needs only the last such list of each section and
/// account before N (and the scoped lists after it): every earlier one is wiped
/// by it, and nothing in either reducer reads those sections in between. Those
/// earlier lists are most of what a replay decodes and folds (a venue snapshot
/// carries every position and open order), so a fold steps over them instead;
/// see `EventLog.scanForFold`. A run (reconcile) between them would read them,
/// so replays with runs decode every list.
public struct SnapshotLists: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let positions = SnapshotLists(rawValue: 1)
    public static let openOrders = SnapshotLists(rawValue: 2)
    public static let balances = SnapshotLists(rawValue: 4)

    /// The lists `snapshot` replaces whole.
    public init(replacedWholeBy snapshot: ExchangeSnapshot) {
        var present: SnapshotLists = []
        if snapshot.positions != nil { present.insert(.positions) }
        if snapshot.openOrders != nil { present.insert(.openOrders) }
        if snapshot.balances != nil { present.insert(.balances) }
        self = Self.replacedWhole(present: present, scoped: snapshot.symbols != nil)
    }

    /// The rule: of the lists a snapshot carries, a scoped one (with `symbols`)
    /// replaces balances only (they are account-wide), an unscoped one all.
    static func replacedWhole(present: SnapshotLists, scoped: Bool) -> SnapshotLists {
        scoped ? present.intersection(.balances) : present
    }
}

/// Where each list of an encoded snapshot ends: the reader's offset after it,
/// in the bytes the snapshot was read from. A fold's plan walks every snapshot
/// once to learn its shape; with these the decoding pass steps over a list by
/// a jump instead of walking it a second time (that walk was a twelfth of
/// decoding a fold).
public struct SnapshotListEnds: Sendable, Equatable {
    public var positions = 0
    public var openOrders = 0
    public var balances = 0

    public init() {}

    func end(of list: SnapshotLists) -> Int {
        switch list {
        case .positions: positions
        case .openOrders: openOrders
        case .balances: balances
        default: preconditionFailure("one list at a time")
        }
    }
}

/// What a fold's plan needs of an encoded snapshot, read without decoding it.
public struct SnapshotShape {
    /// The account's UTF-8 bytes, valid as long as the record's.
    public var account: UnsafeRawBufferPointer
    /// The lists it carries.
    public var present: SnapshotLists
    /// The lists it replaces whole.
    public var replacesWhole: SnapshotLists
    /// Where its lists end (for ``EventCodec/decode(_:skipping:listEnds:)``).
    public var ends: SnapshotListEnds
}

extension EventCodec {
    /// The shape of an encoded `exchange_snapshot` (the reader at its type tag);
    /// nil for any other event. Builds no strings and no lists, so a fold can
    /// plan which lists to step over at about the cost of reading the bytes.
    public static func peekSnapshotShape(_ r: inout ByteReader) throws(CodecError) -> SnapshotShape? {
        guard try r.u8() == EventType.exchangeSnapshot.rawValue else { return nil }
        try r.skipString()
        let account = try r.rawString()
        _ = try r.svarint()
        if try r.isPresent() { try r.skipString() }
        var present: SnapshotLists = []
        var ends = SnapshotListEnds()
        if try r.skipPositions() { present.insert(.positions) }
        ends.positions = r.offset
        if try r.skipOpenOrders() { present.insert(.openOrders) }
        ends.openOrders = r.offset
        if try r.skipBalances() { present.insert(.balances) }
        ends.balances = r.offset
        if try r.isPresent() { try r.skipDecimal() }
        if try r.isPresent() {
            for _ in 0..<(try r.length()) {
                try r.skipString()
                try r.skipDecimal()
            }
        }
        let scoped = try r.isPresent()
        return SnapshotShape(account: account, present: present,
                             replacesWhole: SnapshotLists.replacedWhole(present: present, scoped: scoped), ends: ends)
    }
}

extension ByteReader {
    /// A string's bytes, in place.
    mutating func rawString() throws(CodecError) -> UnsafeRawBufferPointer {
        let count = try length()
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: base[offset..<offset + count])
    }

    @inline(__always) mutating func skipString() throws(CodecError) {
        offset += try length()
    }

    @inline(__always) mutating func skipDecimal() throws(CodecError) {
        // The scale byte, then the significand's varint up to its last byte:
        // found in one word (the first byte without its high bit) when eight
        // bytes can be read, as for nearly every decimal of a snapshot.
        if let (_, lastBit) = varintInOneWord(at: offset + 1) {
            offset += 1 + (lastBit + 1) / 8
            return
        }
        var at = offset + 1
        while at < base.count {
            let byte = base[at]
            at += 1
            if byte & 0x80 == 0 {
                offset = at
                return
            }
        }
        throw .truncated
    }

    /// One of a snapshot's optional lists (`list` names which): decoded item by
    /// item, or stepped over and nil when `skipping` contains it (by a jump to
    /// its end when `ends` gives it).
    mutating func snapshotList<T>(_ list: SnapshotLists, skipping: SnapshotLists, ends: SnapshotListEnds?,
                                  _ item: (inout ByteReader) throws(CodecError) -> T) throws(CodecError) -> [T]? {
        guard skipping.contains(list) else {
            return try optional { (r: inout ByteReader) throws(CodecError) in try r.list(item) }
        }
        if let end = ends?.end(of: list) {
            // The plan walked these very bytes (checksummed since): a present
            // list ends there, past its flag.
            guard try isPresent() else { return nil }
            guard end > offset && end <= base.count else { throw .malformed("a planned list end outside the record") }
            offset = end
            return nil
        }
        switch list {
        case .positions: try skipPositions()
        case .openOrders: try skipOpenOrders()
        case .balances: try skipBalances()
        default: preconditionFailure("one list at a time")
        }
        return nil
    }

    /// An optional value's flag.
    mutating func isPresent() throws(CodecError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw .malformed("bad optional flag")
        }
    }

    /// Steps over an optional list whose items `skipItem` steps over; true when
    /// the list was present.
    private mutating func skipOptionalList(_ skipItem: (inout ByteReader) throws(CodecError) -> Void) throws(CodecError) -> Bool {
        guard try isPresent() else { return false }
        for _ in 0..<(try length()) { try skipItem(&self) }
        return true
    }

    @discardableResult
    mutating func skipPositions() throws(CodecError) -> Bool {
        try skipOptionalList { (r: inout ByteReader) throws(CodecError) in
            try r.skipString()
            try r.skipDecimal()
            try r.skipDecimal()
        }
    }

    @discardableResult
    mutating func skipOpenOrders() throws(CodecError) -> Bool {
        try skipOptionalList { (r: inout ByteReader) throws(CodecError) in
            try r.skipString()
            try r.skipString()
            _ = try r.u8()
            try r.skipDecimal()
            try r.skipDecimal()
            if try r.isPresent() { try r.skipDecimal() }
        }
    }

    @discardableResult
    mutating func skipBalances() throws(CodecError) -> Bool {
        try skipOptionalList { (r: inout ByteReader) throws(CodecError) in
            try r.skipString()
            try r.skipDecimal()
        }
    }
}
