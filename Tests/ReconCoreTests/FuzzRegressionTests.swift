import Testing
@testable import ReconCore

/// Crashes found by the fuzzers (tools/fuzz), kept as tests. The inputs that
/// found them are in tools/fuzz/regressions/ and are replayed by every fuzz run.
@Suite struct FuzzRegressionTests {
    /// 2⁶⁴ − 1 as a varint: read as a length it once trapped converting to `Int`.
    static let hugeVarint: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]

    @Test func aLengthOf2To63OrMoreIsTruncatedNotATrap() {
        for bytes in [Self.hugeVarint, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]] {
            bytes.withUnsafeBytes { raw in
                var r = ByteReader(raw)
                #expect(throws: CodecError.truncated) { try r.string() }
                var l = ByteReader(raw)
                #expect(throws: CodecError.truncated) { try l.list { (r: inout ByteReader) throws(CodecError) in try r.u8() } }
                var m = ByteReader(raw)
                #expect(throws: CodecError.truncated) { let _: [String: UInt8] = try m.map { (r: inout ByteReader) throws(CodecError) in try r.u8() } }
                var n = ByteReader(raw)
                #expect(throws: CodecError.self) { try n.nonNegativeInt() }
            }
        }
    }

    /// The fuzz finding (codec target, checkpoint side): a checkpoint whose map
    /// count was a huge varint. Here the varint is spliced in at every offset of
    /// real checkpoints and events: decoding throws or succeeds, never traps.
    /// The second codec finding (CI, 2026-11-25): the settled-fills count of a
    /// checkpoint was converted with `Int(_:)`, which traps at 2⁶³. An empty
    /// projection's encoding is all counters, seqs and times, so putting the huge
    /// varint in place of each byte reaches every count field, that one included.
    /// Each damaged checkpoint is refused, or is a real (if odd) projection that
    /// encodes back to the same bytes; neither traps.
    @Test func aHugeVarintInPlaceOfAnyByteOfAnEmptyCheckpointNeverTraps() throws {
        let empty = AccountProjection(account: "a").encoded()
        #expect(try empty.withUnsafeBytes { try AccountProjection.decode($0) }.encoded() == empty)
        var refused = 0
        for offset in 1..<empty.count {
            let damaged = Array(empty[..<offset]) + Self.hugeVarint + Array(empty[(offset + 1)...])
            if let decoded = try? damaged.withUnsafeBytes({ try AccountProjection.decode($0) }) {
                #expect(decoded.encoded() == damaged, "offset \(offset)")
            } else {
                refused += 1
            }
        }
        #expect(refused > 10, "every count field refuses a count larger than the bytes left")
    }

    @Test func aHugeVarintAnywhereInACheckpointOrEventNeverTraps() {
        var options = GeneratorOptions()
        options.events = 400
        options.faults = FaultKind.allCases.map { FaultRequest(kind: $0) }
        let events = SyntheticGenerator(options: options).all()
        var projection = AccountProjection(account: "acct1")
        for (index, event) in events.enumerated() where event.account == "acct1" { projection.apply(event, seq: UInt64(index + 1)) }
        let checkpoint = projection.encoded()
        var decodedSome = 0
        var tried = 0
        // Every offset of the first 200 bytes (the header and first maps), then a spread.
        let offsets = Array(0..<min(200, checkpoint.count)) + Array(stride(from: 200, through: checkpoint.count, by: max(1, checkpoint.count / 200)))
        for offset in offsets {
            tried += 1
            let damaged = Array(checkpoint[..<offset]) + Self.hugeVarint + Array(checkpoint[offset...])
            if (try? damaged.withUnsafeBytes { try AccountProjection.decode($0) }) != nil { decodedSome += 1 }
        }
        #expect(decodedSome < tried / 2, "most splices are detected as damage")
        for event in RandomEvents.sample(seed: 4, count: 20) {
            let bytes = EventCodec.encode(event)
            for offset in 0...bytes.count {
                let damaged = Array(bytes[..<offset]) + Self.hugeVarint + Array(bytes[offset...])
                _ = damaged.withUnsafeBytes { raw -> Event? in
                    var r = ByteReader(raw)
                    return try? EventCodec.decode(&r)
                }
            }
        }
    }
}
