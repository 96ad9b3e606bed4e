import Testing
@testable import ReconCore

/// Ids as table keys (`IDKey`) and short strings made in place (`SmallString`):
/// both read the standard library's small-string layout, so these tests hold
/// them to what the library's own strings are.
@Suite struct IDKeyTests {
    /// A string with the same bytes held in heap storage, not as a small string.
    private func heapString(_ text: String) -> String {
        var s = String()
        s.reserveCapacity(64)
        s.append(contentsOf: text)
        return s
    }

    @Test func theSmallStringLayoutHoldsOnThisToolchain() {
        // If this fails, the toolchain lays small strings out otherwise: ids would
        // be hashed and made wrongly. Look at the standard library's StringObject,
        // and set `layoutHolds` false for it (every id then takes the general paths).
        #expect(SmallString.layoutHolds)
        #expect(SmallString.probeLayout())
        #expect(SmallString.bytes(of: "acct1-o-42") != nil)
        #expect(SmallString.bytes(of: String(repeating: "x", count: 16)) == nil)
        #expect(SmallString.bytes(of: heapString("abc")) == nil)
    }

    @Test func stringsMadeInPlaceAreTheLibrarysOwn() {
        let ascii = Array("0123456789abcdefghijklmnopqrstuvwxyz-_.:/".utf8)
        var rng = SeededRandom(seed: 5)
        for count in 0...15 {
            for _ in 0..<50 {
                let content = (0..<count).map { _ in ascii[rng.below(ascii.count)] }
                let padding = rng.below(3)
                let bytes = [UInt8](repeating: 0xFF, count: padding) + content + [UInt8](repeating: 0xC3, count: 16)
                let made = bytes.withUnsafeBytes { SmallString.ascii($0, offset: padding, count: count) }
                let expected = String(decoding: content, as: UTF8.self)
                #expect(made == expected)
                // Bit for bit what the library makes, so every later use is the same.
                #expect(made.map { SmallString.sameRepresentation($0, expected) } == true)
            }
        }
        // Not ASCII, too long, or too near the end: the general path.
        let accented = Array("é-ü".utf8) + [UInt8](repeating: 0, count: 16)
        #expect(accented.withUnsafeBytes { SmallString.ascii($0, offset: 0, count: 5) } == nil)
        let long = [UInt8](repeating: 0x61, count: 40)
        #expect(long.withUnsafeBytes { SmallString.ascii($0, offset: 0, count: 16) } == nil)
        #expect(long.withUnsafeBytes { SmallString.ascii($0, offset: 30, count: 5) } == nil)
    }

    @Test func theCodecReadsStringsOfEveryLengthAndKind() throws {
        for text in ["", "a", "USDT", "acct1-o-123456", "abcdefghijklmno", "abcdefghijklmnop", "é", "ordre-é-12", String(repeating: "z", count: 70)] {
            var w = ByteWriter()
            w.string(text)
            w.u8(7)
            let (read, next) = try w.withUnsafeBytes { raw throws(CodecError) in
                var r = ByteReader(raw)
                return (try r.string(), try r.u8())
            }
            #expect(read == text)
            #expect(Array(read.utf8) == Array(text.utf8))
            #expect(next == 7)
        }
    }

    @Test func equalIdsHashAlikeHoweverTheyAreHeld() {
        for text in ["", "K", "USDT", "acct1-f-99", "abcdefghijklmno", "abcdefghijklmnop", "an-order-id-of-forty-bytes-0000000000000", "é-ü"] {
            let small = IDKey(text)
            let heap = IDKey(heapString(text))
            #expect(small == heap)
            for seed in [0, 1, -7, 0x5DEE_CE66] {
                #expect(small._rawHashValue(seed: seed) == heap._rawHashValue(seed: seed), "\(text) seed \(seed)")
            }
            #expect(small.hashValue == heap.hashValue)
        }
    }

    @Test func idsAreTheirBytes() {
        // Canonically equivalent for `String`, two ids for a venue and here.
        let kelvin = "\u{212A}"
        #expect(kelvin == "K")
        #expect(IDKey(kelvin) != IDKey("K"))
        var table: [IDKey: Int] = [:]
        table["K"] = 1
        table[kelvin] = 2
        #expect(table.count == 2)
        #expect(table["K"] == 1 && table[kelvin] == 2)
        // Byte order, which for ASCII is the order `String` sorts in.
        let ids = ["o-10", "o-9", "O-1", "o-1", "", "o-1a", "p"]
        let sortedByKey: [String] = ids.map { IDKey($0) }.sorted().map(\.string)
        #expect(sortedByKey == ids.sorted())
    }

    @Test func aTableOfIdsFindsEveryIdAndNoOther() {
        var table: [IDKey: Int] = [:]
        let ids = (0..<50_000).map { "acct\($0 % 3)-o-\($0 * 7919)" } + (0..<200).map { "a-much-longer-client-order-id-\($0)" }
        for (i, id) in ids.enumerated() { table[id] = i }
        #expect(table.count == ids.count)
        for (i, id) in ids.enumerated() where table[id] != i {
            Issue.record("\(id) reads \(String(describing: table[id])), not \(i)")
            break
        }
        for id in ["acct0-o-1", "acct1-o-7920", "", "a-much-longer-client-order-id-200"] {
            #expect(table[id] == nil)
        }
        // Hashes spread: no bucket of the low 16 bits holds a large share.
        var buckets = [Int](repeating: 0, count: 1 << 16)
        for id in ids { buckets[IDKey(id)._rawHashValue(seed: 12345) & 0xFFFF] += 1 }
        #expect(buckets.max()! < 12)
    }
}
