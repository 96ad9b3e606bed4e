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

    /// A snapshot's shape, read without decoding, is what its decoded form says;
    /// stepping over any of its lists reads to the same end and leaves exactly
    /// those lists nil; every other event decodes as it would without skipping.
    @Test(arguments: [4, 5] as [UInt64])
    func snapshotShapeAndSkippedLists(seed: UInt64) throws {
        let choices: [SnapshotLists] = [[], .positions, .openOrders, .balances, [.positions, .balances], [.positions, .openOrders, .balances]]
        var snapshots = 0
        for (n, event) in RandomEvents.sample(seed: seed, count: 1_500).enumerated() {
            let skipping = choices[n % choices.count]
            let bytes = EventCodec.encode(event)
            try bytes.withUnsafeBytes { raw in
                var peek = ByteReader(raw)
                let shape = try EventCodec.peekSnapshotShape(&peek)
                var r = ByteReader(raw)
                let decoded = try EventCodec.decode(&r, skipping: skipping)
                #expect(r.remaining == 0)
                guard case .exchangeSnapshot(let snapshot) = event.body else {
                    #expect(shape == nil)
                    #expect(decoded == event)
                    return
                }
                snapshots += 1
                let shapeFound = try #require(shape)
                #expect(shapeFound.account.elementsEqual(event.account.utf8))
                var present: SnapshotLists = []
                if snapshot.positions != nil { present.insert(.positions) }
                if snapshot.openOrders != nil { present.insert(.openOrders) }
                if snapshot.balances != nil { present.insert(.balances) }
                #expect(shapeFound.present == present)
                #expect(shapeFound.replacesWhole == SnapshotLists(replacedWholeBy: snapshot))
                var expected = snapshot
                if skipping.contains(.positions) { expected.positions = nil }
                if skipping.contains(.openOrders) { expected.openOrders = nil }
                if skipping.contains(.balances) { expected.balances = nil }
                var expectedEvent = event
                expectedEvent.body = .exchangeSnapshot(expected)
                #expect(decoded == expectedEvent)
            }
            // Cut anywhere, a snapshot's shape is an error or (once the scope's flag
            // is read, which is all it needs) the right shape; never a crash.
            if case .exchangeSnapshot(let snapshot) = event.body, n % 10 == 0 {
                var answered = 0
                for cut in 0..<bytes.count {
                    let prefix = Array(bytes[0..<cut])
                    prefix.withUnsafeBytes { raw in
                        var r = ByteReader(raw)
                        guard let shape = try? EventCodec.peekSnapshotShape(&r) else { return }
                        answered += 1
                        #expect(shape.replacesWhole == SnapshotLists(replacedWholeBy: snapshot))
                    }
                }
                #expect(answered <= (snapshot.symbols.map { 1 + $0.reduce(0) { $0 + 1 + $1.utf8.count } } ?? 0))
            }
        }
        #expect(snapshots > 50)
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

    /// Stepping over a snapshot's lists by the ends a plan read is the same as
    /// walking them; an end outside the record is refused, never followed.
    @Test func listsSteppedOverByTheirPlannedEndsAreWalkedOver() throws {
        var snapshots = 0
        for event in RandomEvents.sample(seed: 21, count: 2_000) {
            guard case .exchangeSnapshot = event.body else { continue }
            snapshots += 1
            let bytes = EventCodec.encode(event)
            try bytes.withUnsafeBytes { raw throws in
                var peek = ByteReader(raw)
                let shape = try #require(try EventCodec.peekSnapshotShape(&peek))
                for skipping in [shape.present, shape.present.intersection(.openOrders), SnapshotLists.balances] {
                    var walked = ByteReader(raw)
                    var jumped = ByteReader(raw)
                    let a = try EventCodec.decode(&walked, skipping: skipping)
                    let b = try EventCodec.decode(&jumped, skipping: skipping, listEnds: shape.ends)
                    #expect(a == b)
                    #expect(jumped.remaining == 0)
                }
                guard shape.present.contains(.positions) else { return }
                var wrong = shape.ends
                wrong.positions = raw.count + 5
                var r = ByteReader(raw)
                #expect(throws: CodecError.self) { try EventCodec.decode(&r, skipping: .positions, listEnds: wrong) }
            }
        }
        #expect(snapshots > 50)
    }
}
