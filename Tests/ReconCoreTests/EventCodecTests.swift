import Testing
@testable import ReconCore

@Suite struct EventCodecTests {
    /// Random events of every type survive the binary codec unchanged.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func roundTrip(seed: UInt64) throws {
        for event in RandomEvents.sample(seed: seed, count: 1_000) {
            let bytes = EventCodec.encode(event)
            let decoded = try bytes.withUnsafeBytes { raw -> Event in
                var r = ByteReader(raw)
                let e = try EventCodec.decode(&r)
                #expect(r.remaining == 0)
                return e
            }
            #expect(decoded == event)
        }
    }

    /// An event decoded without making an object refers to none (so a chunk of
    /// decoded events need not destroy it): checked against every value the
    /// event holds, found by reflection, so a field added later that holds a
    /// list or a long string fails here, not in a leak. Random events of every
    /// type, and a generated log, of whose events (orders and fills with short
    /// ids, mostly) most are decoded without one.
    @Test(arguments: [6, 7] as [UInt64])
    func anEventDecodedWithoutObjectsRefersToNone(seed: UInt64) throws {
        var options = GeneratorOptions()
        options.seed = seed
        options.events = 2_000
        let generated = SyntheticGenerator(options: options).all()
        var withoutObjects = 0
        for event in RandomEvents.sample(seed: seed, count: 2_000) + generated {
            let bytes = EventCodec.encode(event)
            let (decoded, madeObjects) = try bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                let decoded = try EventCodec.decode(&r)
                return (decoded, r.madeObjects)
            }
            if !madeObjects {
                withoutObjects += 1
                #expect(!Self.refersToAnObject(decoded), "\(decoded.type) \(decoded.id)")
            }
        }
        #expect(withoutObjects > generated.count / 2)
    }

    /// Whether `value`, or anything it holds, is a string too long to be held
    /// in the string value, a collection with items, or an instance of a class.
    static func refersToAnObject(_ value: Any) -> Bool {
        if let string = value as? String { return SmallString.bytes(of: string) == nil }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .class: return true
        case .collection, .dictionary, .set: return !mirror.children.isEmpty
        default: return mirror.children.contains { refersToAnObject($0.value) }
        }
    }

    /// A decoded snapshot holds its positions, open orders and marks as their bytes;
    /// read, they are the lists that were encoded, every time.
    @Test(arguments: [4, 5] as [UInt64])
    func snapshotListsArriveAsBytesAndReadAsEncoded(seed: UInt64) throws {
        var encodedLists = 0
        for event in RandomEvents.sample(seed: seed, count: 1_500) {
            guard case .exchangeSnapshot(let snapshot) = event.body else { continue }
            let bytes = EventCodec.encode(event)
            let decoded = try bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                return try EventCodec.decode(&r)
            }
            guard case .exchangeSnapshot(let read) = decoded.body else {
                Issue.record("a snapshot decoded as \(decoded.type)")
                continue
            }
            for (list, original) in [(read.positionList?.isEncoded, snapshot.positions?.isEmpty), (read.openOrderList?.isEncoded, snapshot.openOrders?.isEmpty),
                                     (read.priceList?.isEncoded, snapshot.prices?.isEmpty)] {
                // Present and not empty: held as bytes; empty or absent: as they were.
                #expect(list == original.map { !$0 })
                if list == true { encodedLists += 1 }
            }
            #expect(read.positionList?.count == snapshot.positions?.count)
            #expect(read.openOrderList?.count == snapshot.openOrders?.count)
            #expect(read.positions == snapshot.positions)
            #expect(read.openOrders == snapshot.openOrders)
            #expect(read.priceList?.count == snapshot.prices?.count)
            #expect(read.prices == snapshot.prices)
            #expect(read.positions == snapshot.positions, "read twice")
            #expect(decoded == event)
        }
        #expect(encodedLists > 50)
    }

    /// A damaged list is refused when its record is decoded, as if it were
    /// decoded then; what decodes can always be read (a check missed would stop
    /// this test at the read, not pass it).
    @Test func damagedListsAreRefusedWhenTheRecordIsDecoded() throws {
        let event = Event(id: "s1", account: "bot", tsMs: 1, body: .exchangeSnapshot(ExchangeSnapshot(
            positions: [RemotePosition(symbol: "BTC-PERP", qty: ExactDecimal(significand: -12_345, scale: 3), entryPrice: 101),
                        RemotePosition(symbol: "ETH-PERP", qty: ExactDecimal(significand: Int128(Int64.max) * 1_000, scale: 38), entryPrice: 7)],
            openOrders: [RemoteOrder(orderId: "o1", symbol: "BTC-PERP", side: .sell, qty: 2, remaining: 1, price: 99),
                         RemoteOrder(orderId: "o2", symbol: "ETH-PERP", side: .buy, qty: 3, remaining: 3, price: nil)],
            balances: [RemoteBalance(asset: "USDT", total: 5)])))
        let bytes = EventCodec.encode(event)
        var refused = 0
        var read = 0
        for at in 0..<bytes.count {
            for value: UInt8 in [0, 1, 2, 7, 39, 0x7F, 0x80, 0xFF] where value != bytes[at] {
                var damaged = bytes
                damaged[at] = value
                let decoded = damaged.withUnsafeBytes { raw -> Event? in
                    var r = ByteReader(raw)
                    return try? EventCodec.decode(&r)
                }
                guard let decoded else {
                    refused += 1
                    continue
                }
                if case .exchangeSnapshot(let snapshot) = decoded.body {
                    read += (snapshot.positions?.count ?? 0) + (snapshot.openOrders?.count ?? 0)
                }
            }
        }
        #expect(refused > 100 && read > 100, "refused \(refused), read \(read)")

        // The checks by name: a scale past 38, a side other than buy or sell, a
        // significand longer than 128 bits, a list cut short.
        let scale = try #require(offset(after: "ETH-PERP", in: bytes))
        let side = try #require(offset(after: "\u{2}o1\u{8}BTC-PERP", in: bytes))
        var overlong = Array(bytes[..<(scale + 1)])
        overlong += [UInt8](repeating: 0xFF, count: 19) + [0x01]
        overlong += bytes[(scale + 1)...].drop { $0 & 0x80 != 0 }.dropFirst()
        for (damaged, why) in [(replacing(bytes, at: scale, with: 39), CodecError.malformed("decimal scale 39")),
                               (replacing(bytes, at: side, with: 2), .malformed("unknown side")),
                               (overlong, .malformed("decimal overflows 128 bits")),
                               (Array(bytes[..<(scale + 3)]), .truncated)] {
            damaged.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                #expect(throws: why) { try EventCodec.decode(&r) }
            }
        }
    }

    /// Where the byte after the first occurrence of `text`'s bytes lies.
    private func offset(after text: String, in bytes: [UInt8]) -> Int? {
        let needle = Array(text.utf8)
        return bytes.indices.first { bytes[$0...].starts(with: needle) }.map { $0 + needle.count }
    }

    private func replacing(_ bytes: [UInt8], at: Int, with value: UInt8) -> [UInt8] {
        var changed = bytes
        changed[at] = value
        return changed
    }

    /// Every truncation of an encoding fails with an error, never a crash.
    @Test func truncationsFailCleanly() {
        for event in RandomEvents.sample(seed: 9, count: 60) {
            let bytes = EventCodec.encode(event)
            for cut in 0..<bytes.count {
                let prefix = Array(bytes[0..<cut])
                let result = prefix.withUnsafeBytes { raw -> Bool in
                    var r = ByteReader(raw)
                    return (try? EventCodec.decode(&r)) != nil && r.remaining == 0
                }
                #expect(!result || cut == bytes.count)
            }
        }
    }

    /// Stored bytes must not change: decimals whose significand fits 64 bits take
    /// a shorter path, and must give the bytes of the general 128-bit one.
    @Test func decimalBytesAreTheGeneralZigzagLEB128OnBothSidesOf64Bits() {
        func reference(_ d: ExactDecimal) -> [UInt8] {
            var out: [UInt8] = [UInt8(d.scale)]
            var v = UInt128(bitPattern: (d.significand << 1) ^ (d.significand >> 127))
            while v >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: v) | 0x80)
                v >>= 7
            }
            out.append(UInt8(v))
            return out
        }
        let wide = Int128(Int64.max)
        let significands: [Int128] = [0, 1, -1, 63, -64, 64, -65, 1_000_000, -123_456_789, wide, wide + 1, -wide - 1, -wide - 2,
                                      10_000_000_000_000_000_000_000_000_000_000_000_000, -10_000_000_000_000_000_000_000_000_000_000_000_000]
        for significand in significands {
            for scale in [0, 2, 18] {
                let d = ExactDecimal(significand: significand, scale: scale)
                var w = ByteWriter()
                w.decimal(d)
                #expect(w.bytes == reference(d), "\(significand) scale \(scale)")
                let decoded = w.bytes.withUnsafeBytes { raw -> ExactDecimal? in
                    var r = ByteReader(raw)
                    return try? r.decimal()
                }
                #expect(decoded == d)
            }
        }
    }

    /// Significands of every varint length (1 to 19 bytes, both signs), each read
    /// with 0 to 9 bytes after it, so that every way runs: the one-word path (a
    /// varint of at most 8 bytes with 8 bytes left from its start), the byte loop
    /// (fewer left, or 9 bytes) and the 128-bit loop (longer); all give the value.
    @Test func decimalsReadBackOnEveryPathAndAtTheBufferEnd() throws {
        var significands: [Int128] = []
        for bits in 0..<127 {
            let magnitude = (Int128(1) << bits) - 1
            significands += [magnitude, -magnitude - 1, magnitude / 3 + 1]
        }
        for significand in significands {
            let d = ExactDecimal(significand: significand, scale: 7)
            for trailing in 0...9 {
                var w = ByteWriter()
                w.decimal(d)
                let length = w.count
                for _ in 0..<trailing { w.u8(0xFF) }
                let bytes = w.bytes
                let (read, offset) = try bytes.withUnsafeBytes { raw throws -> (ExactDecimal, Int) in
                    var r = ByteReader(raw)
                    return (try r.decimal(), r.offset)
                }
                #expect(read == d, "\(significand) with \(trailing) bytes after")
                #expect(offset == length)
            }
        }
    }

    /// The two content hashes computed together are those of the fill's stored
    /// form without `ts_ms`, and without the fee as well: checkpoints keep them.
    @Test func contentHashesAreTheStoredFormsHashes() {
        var checked = 0
        for event in RandomEvents.sample(seed: 13, count: 2_000) {
            guard case .fill(let fill) = event.body else { continue }
            func reference(_ f: FillRecord) -> UInt64 {
                var w = ByteWriter()
                w.fill(f)
                return w.withUnsafeBytes { FNV1a64.hash($0) }
            }
            var withoutTime = fill
            withoutTime.tsMs = nil
            var withoutFee = withoutTime
            withoutFee.fee = nil
            withoutFee.feeAsset = nil
            let both = fill.contentHashes
            #expect(both.includingFee == reference(withoutTime))
            #expect(both.withoutFee == reference(withoutFee))
            #expect(fill.contentHash(includingFee: true) == both.includingFee)
            #expect(fill.contentHash(includingFee: false) == both.withoutFee)
            checked += 1
        }
        #expect(checked > 100)
    }

    @Test func crc32cKnownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)).hasPrefix("41edece42d63e8d9bf515a9ba6932e1c"))
    }

    /// A writer given memory to write into moves to memory of its own when the
    /// bytes outgrow it, and writes the same bytes either way.
    @Test func aWriterOutgrowsTheMemoryItWasLent() {
        func write(_ w: inout ByteWriter) {
            for k in 0..<40 { w.string("item-\(k)") }
            w.decimal("123456789.000000001")
        }
        var own = ByteWriter()
        write(&own)
        let lent = withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { memory -> [UInt8] in
            var w = ByteWriter(into: memory)
            write(&w)
            return w.bytes
        }
        #expect(own.count > 32)
        #expect(lent == own.bytes)
    }

    /// A fill's content hashes are FNV-1a of its encoded fields, short ids or
    /// long (the long ones outgrow the memory the hash is written into).
    @Test(arguments: ["f1", String(repeating: "a-long-fill-id-", count: 20)])
    func contentHashesAreOfTheEncodedFill(fillId: String) {
        let fill = FillRecord(fillId: fillId, orderId: fillId + "-order", symbol: "ETH-PERP", side: .sell, qty: "1.5", price: "3000.25",
                              fee: "-0.12", feeAsset: "USDT", liquidity: .maker, tsMs: 99)
        var w = ByteWriter()
        w.fillTrade(fill)
        let trade = w.bytes
        w.removeAll()
        w.fillCharges(fee: fill.fee, feeAsset: fill.feeAsset, liquidity: fill.liquidity, tsMs: nil)
        let charges = w.bytes
        w.removeAll()
        w.fillCharges(fee: nil, feeAsset: nil, liquidity: fill.liquidity, tsMs: nil)
        let noFee = w.bytes
        #expect(fill.contentHashes.includingFee == FNV1a64.hash(trade + charges))
        #expect(fill.contentHashes.withoutFee == FNV1a64.hash(trade + noFee))
    }
}
