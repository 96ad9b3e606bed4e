import Testing
@testable import ReconCore
@testable import ReconStore
import ReconTestSupport

/// A snapshot record's header carries its lists' byte lengths (format 2), and
/// decoding takes the lists whole by them; records of format 1 (no lengths) are
/// still read by stepping over every item; and `recon verify` steps over every
/// item still, so a header whose lengths disagree with its lists is found.
@Suite struct SnapshotListLengthsTests {
    static func snapshot(positions: Int, orders: Int) -> Event {
        Event(id: "s\(positions)-\(orders)", account: "acct1", tsMs: 5, venue: "simex", body: .exchangeSnapshot(ExchangeSnapshot(
            positions: (0..<positions).map { RemotePosition(symbol: "S\($0)-PERP", qty: ExactDecimal(significand: Int128($0 - 1), scale: 3), entryPrice: 100) },
            openOrders: (0..<orders).map { RemoteOrder(orderId: "o\($0)", symbol: "S\($0 % 3)-PERP", side: .buy, qty: 2, remaining: 1,
                                                        price: $0 % 2 == 0 ? 50 : nil) },
            balances: [RemoteBalance(asset: "USDT", total: 1_000)], equity: 1_000, prices: nil, symbols: nil)))
    }

    /// A record as the store writes it (format 2, the lengths the encoder
    /// returned), or as format 1 wrote it: no list lengths, the CRC over the same span.
    static func record(_ event: Event, format: UInt8 = EventLog.formatVersion, ingestMs: Int64 = 1_763_000_000_000) -> [UInt8] {
        var encoded = ByteWriter()
        let lists = EventCodec.encode(event, into: &encoded)
        let content = encoded.bytes
        var w = ByteWriter()
        guard format == 1 else {
            content.withUnsafeBytes { LogRecord.write(content: $0, lists: lists, chain: 0x42, ingestMs: ingestMs, into: &w) }
            return w.bytes
        }
        w.u8(1)
        w.u32le(0)
        w.u64le(0x42)
        w.svarint(ingestMs)
        w.append(contentsOf: content)
        return sealed(w.bytes)
    }

    /// `bytes` with its CRC made right again, as a careless writer would store them.
    static func sealed(_ bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[LogRecord.chainOffset...])) }
        for k in 0..<4 { bytes[LogRecord.crcOffset + k] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * k)) }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> LoggedEvent {
        try bytes.withUnsafeBytes { try LogRecord.decode($0, seq: 3) }
    }

    static func header(_ bytes: [UInt8]) throws -> LogRecord.Header {
        try bytes.withUnsafeBytes { try LogRecord.header($0, seq: 3) }
    }

    static func lists(_ event: LoggedEvent) -> (positions: SnapshotList<RemotePosition>?, orders: SnapshotList<RemoteOrder>?) {
        guard case .exchangeSnapshot(let snapshot) = event.event.body else { return (nil, nil) }
        return (snapshot.positionList, snapshot.openOrderList)
    }

    @Test func aSnapshotsHeaderHoldsItsListsLengthsAndOthersHoldNone() throws {
        let bytes = Self.record(Self.snapshot(positions: 3, orders: 5))
        let header = try Self.header(bytes)
        #expect(header.version == 2)
        #expect(header.listLengths.positions != nil && header.listLengths.openOrders != nil)
        #expect(header.listLengths == bytes.withUnsafeBytes { SnapshotListLengths.measure(UnsafeRawBufferPointer(rebasing: $0[header.contentOffset...])) })
        // Each length is what that list's items cover: the content is the same
        // snapshot's without items (an id as long, counts of one byte) plus both.
        let noItems = EventCodec.encode(Self.snapshot(positions: 0, orders: 0))
        #expect(noItems.count + header.listLengths.positions! + header.listLengths.openOrders! == bytes.count - header.contentOffset)
        for event in [Self.snapshot(positions: 0, orders: 0), Self.snapshot(positions: 2, orders: 0)] {
            let lengths = try Self.header(Self.record(event)).listLengths
            #expect(lengths.openOrders == nil, "an empty list has no length")
        }
        // The encoder's lengths are what stepping over the items finds.
        for event in RandomEvents.sample(seed: 9, count: 1_000) {
            let bytes = Self.record(event)
            let header = try Self.header(bytes)
            #expect(header.listLengths == bytes.withUnsafeBytes { SnapshotListLengths.measure(UnsafeRawBufferPointer(rebasing: $0[header.contentOffset...])) })
            if event.type != .exchangeSnapshot { #expect(header.listLengths == .none, "\(event.type)") }
        }
    }

    /// Every event reads the same from a record of either format: format 2 takes
    /// the lists whole (kept as bytes, as a walk keeps them), format 1 walks.
    @Test func bothFormatsDecodeToTheSameEvents() throws {
        let events = RandomEvents.sample(seed: 11, count: 3_000) + [Self.snapshot(positions: 40, orders: 130)]
        #expect(events.filter { $0.type == .exchangeSnapshot }.count > 100)
        for event in events {
            let current = try Self.decode(Self.record(event))
            let old = try Self.decode(Self.record(event, format: 1))
            #expect(try Self.header(Self.record(event, format: 1)).listLengths == .none)
            #expect(current.event == event && old.event == event)
            let (positions, orders) = Self.lists(current)
            #expect(positions.map { $0.isEncoded || $0.count == 0 } ?? true)
            #expect(orders.map { $0.isEncoded || $0.count == 0 } ?? true)
        }
    }

    /// Lengths a record cannot hold: past its end, for a list that is absent or
    /// empty, on an event that is not a snapshot, or flags no format defines.
    @Test func impossibleLengthsAreRefusedAsDamage() throws {
        func withLists(_ event: Event, flags: UInt8, _ lengths: [UInt64]) -> [UInt8] {
            var w = ByteWriter()
            w.u8(2)
            w.u32le(0)
            w.u64le(0x42)
            w.svarint(1)
            w.u8(flags)
            for length in lengths { w.varint(length) }
            w.append(contentsOf: EventCodec.encode(event))
            return Self.sealed(w.bytes)
        }
        let both = Self.snapshot(positions: 2, orders: 3)
        let right = try Self.header(Self.record(both)).listLengths
        let cases: [(String, [UInt8])] = [
            ("past the record", withLists(both, flags: 3, [UInt64(right.positions!), 100_000])),
            ("longer than the rest of the record", withLists(both, flags: 3, [UInt64(right.positions!), UInt64(right.openOrders!) + 200])),
            ("a length for an absent list", withLists(Self.snapshot(positions: 2, orders: 0), flags: 3, [UInt64(right.positions!), 5])),
            ("fewer bytes than items", withLists(both, flags: 3, [1, UInt64(right.openOrders!)])),
            ("not a snapshot", withLists(RandomEvents.sample(seed: 1, count: 1)[0], flags: 1, [3])),
            ("unknown flags", withLists(both, flags: 4, [])),
        ]
        for (name, bytes) in cases {
            #expect(throws: StoreError.self, "\(name)") { try Self.decode(bytes) }
        }
        #expect(try Self.decode(withLists(both, flags: 3, [UInt64(right.positions!), UInt64(right.openOrders!)])).event == both)
    }

    /// A list item the decoder would refuse, in a record whose CRC is right (a
    /// writer's bug, not a disk's damage): reading takes the list whole by its
    /// length, and `recon verify`, which steps over every item, names the record.
    @Test func verifyFindsAnItemTheLengthsStepOver() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        let events = (0..<5).map { i in
            Event(id: "t\(i)", account: "acct1", tsMs: 1, body: .transfer(Transfer(asset: "USDT", amount: 1, kind: .deposit)))
        } + [Self.snapshot(positions: 3, orders: 4)]
        _ = try log.append(events.enumerated().map { AppendInput(event: $1, line: $0 + 1) })
        #expect(try log.verify().isSound)
        let key = withUnsafeBytes(of: UInt64(6).bigEndian) { Array($0) }
        let txn = try LMDBTransaction(log.env, readOnly: false)
        let stored = try key.withUnsafeBytes { k in try txn.get(log.events, key: k) { Array($0) } }!
        let altered = Self.withABadScale(stored)
        try key.withUnsafeBytes { k in try altered.withUnsafeBytes { v in try txn.put(log.events, key: k, value: v, flags: 0) } }
        try txn.commit()
        #expect(try log.event(at: 6)?.event.id == "s3-4")
        let report = try log.verify()
        // (The content changed, so its chain and body hash are found wrong too.)
        #expect(report.faults.first == "seq 6: the snapshot list lengths in the header do not match its lists", "\(report.faults)")
        // The same item in a record of format 1 is refused by reading it.
        #expect(throws: StoreError.self) { try Self.decode(Self.withABadScale(Self.record(Self.snapshot(positions: 3, orders: 4), format: 1))) }
    }

    /// `record` with the first position's quantity given a scale no decimal has
    /// (its scale byte follows the symbol), sealed with a right CRC.
    static func withABadScale(_ record: [UInt8]) -> [UInt8] {
        var bytes = record
        let symbol = Array("S0-PERP".utf8)
        let at = bytes.indices.first { bytes[$0..<min($0 + symbol.count, bytes.count)].elementsEqual(symbol) }!
        bytes[at + symbol.count] = UInt8(ExactDecimal.maxScale + 1)
        return sealed(bytes)
    }

    /// A folder marked with format 1 keeps its mark while this build only reads
    /// it (an older recon can still open it), and takes format 2's mark with the
    /// first records this build stores there.
    @Test func aFolderTakesTheNewFormatsMarkWithItsFirstNewRecords() throws {
        let dir = TempFolder()
        func mark(_ log: EventLog) throws -> UInt8? {
            let txn = try LMDBTransaction(log.env, readOnly: true)
            let stored = try Array("format".utf8).withUnsafeBytes { k in try txn.get(log.meta, key: k) { $0.first } } ?? nil
            txn.abort()
            return stored
        }
        let event = { (id: String) in Event(id: id, account: "a", tsMs: 1, body: .transfer(Transfer(asset: "USDT", amount: 1, kind: .deposit))) }
        do {
            let log = try EventLog(directory: dir.path)
            #expect(try mark(log) == 2)
            _ = try log.append([AppendInput(event: event("a"), line: 1)])
            let txn = try LMDBTransaction(log.env, readOnly: false)
            try Array("format".utf8).withUnsafeBytes { k in try [UInt8(1)].withUnsafeBytes { v in try txn.put(log.meta, key: k, value: v, flags: 0) } }
            try txn.commit()
        }
        let log = try EventLog(directory: dir.path)
        #expect(try log.event(at: 1)?.event == event("a"))
        #expect(try mark(log) == 1, "reading leaves the mark")
        _ = try log.append([AppendInput(event: event("a"), line: 1)])
        #expect(try mark(log) == 1, "a repeat stores nothing")
        _ = try log.append([AppendInput(event: event("b"), line: 1)])
        #expect(try mark(log) == 2)
    }
}
