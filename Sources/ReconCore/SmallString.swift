/// Swift keeps a string of at most 15 UTF-8 bytes in the string value itself
/// (a "small string"): the bytes in order from the first, zero-padded, and the
/// last byte holding flags and the count. Nearly every id, symbol and asset in
/// a log is one. Reading their bytes from there, and making ASCII ones from
/// there, costs a few instructions where the general paths (`utf8` views,
/// `String(decoding:as:)` with its validation) were a fifth of decoding a log
/// and most of hashing an id.
///
/// The layout is the standard library's, not a promise of its API. It is the
/// native layout of 64-bit little-endian platforms, and the one of the standard
/// library this is compiled with (Swift on Linux runs with its own runtime
/// only). `probeLayout` checks it against strings the library itself made; a
/// test runs it, so a toolchain that changed it would fail CI, not misread ids.
enum SmallString {
    /// The top byte of an ASCII small string of `count` bytes, less the count.
    private static let asciiFlags: UInt64 = 0xE0

    /// Whether the layout above is this platform's. A constant: as a `static
    /// let` set by the probe, every read called into the runtime (`swift_once`),
    /// once per id hashed and once per record decoded: 1.5 % of a full fold.
    #if _pointerBitWidth(_64) && _endian(little)
    @inline(__always) static var layoutHolds: Bool { true }
    #else
    @inline(__always) static var layoutHolds: Bool { false }
    #endif

    /// Checks the layout against strings the standard library made.
    static func probeLayout() -> Bool {
        let probes = ["", "a", "USDT", "acct1-o-12345", "abcdefghijklmno", "é-ünï"]
        for text in probes {
            let (low, high) = bits(text)
            let bytes = Array(text.utf8)
            let flags = high >> 56
            guard flags & 0x20 != 0, Int(flags & 0x0F) == bytes.count else { return false }
            if bytes.allSatisfy({ $0 < 0x80 }) && flags & 0xF0 != asciiFlags { return false }
            let expected = words(bytes)
            guard low == expected.low, high & 0x00FF_FFFF_FFFF_FFFF == expected.high else { return false }
        }
        // A string too long to be small must not look small.
        return (bits(String(repeating: "x", count: 40)).1 >> 56) & 0x20 == 0
    }

    /// Up to 15 bytes as a small string holds them: in order from the low byte
    /// of `low`, zero-padded.
    static func words(_ bytes: some Collection<UInt8>) -> (low: UInt64, high: UInt64) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            if i < 8 { low |= UInt64(byte) << UInt64(8 * i) } else { high |= UInt64(byte) << UInt64(8 * (i - 8)) }
        }
        return (low, high)
    }

    @inline(__always) static func bits(_ s: String) -> (UInt64, UInt64) {
        unsafeBitCast(s, to: (UInt64, UInt64).self)
    }

    /// A small string's bytes as two zero-padded little-endian words, and its
    /// count; nil for any other string.
    @inline(__always) static func bytes(of s: String) -> (low: UInt64, high: UInt64, count: UInt64)? {
        guard layoutHolds else { return nil }
        let (low, high) = bits(s)
        let flags = high >> 56
        guard flags & 0x20 != 0 else { return nil }
        return (low, high & 0x00FF_FFFF_FFFF_FFFF, flags & 0x0F)
    }

    /// Two strings with the same bits are the same bytes (the same small string,
    /// or the same storage with the same count).
    @inline(__always) static func sameRepresentation(_ a: String, _ b: String) -> Bool {
        bits(a) == bits(b)
    }

    /// The string of `count` (≤ 15) bytes at `offset`, made in place when they
    /// are ASCII and 16 bytes can be read there; nil otherwise. Only when
    /// `layoutHolds` (the caller asks once, not per string).
    @inline(__always) static func ascii(_ p: UnsafeRawBufferPointer, offset: Int, count: Int) -> String? {
        guard let (low, high) = words(p, offset: offset, count: count), (low | high) & 0x8080_8080_8080_8080 == 0 else { return nil }
        return unsafeBitCast((low, high | (asciiFlags | UInt64(count)) << 56), to: String.self)
    }

    /// The `count` (≤ 15) bytes at `offset` as `words(_:)` gives them, read as
    /// two words when 16 bytes can be read there; nil otherwise.
    @inline(__always) static func words(_ p: UnsafeRawBufferPointer, offset: Int, count: Int) -> (low: UInt64, high: UInt64)? {
        guard count <= 15, p.count - offset >= 16 else { return nil }
        var low = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        var high = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        if count < 8 {
            low &= (1 &<< UInt64(8 * count)) &- 1
            high = 0
        } else {
            high &= (1 &<< UInt64(8 * (count - 8))) &- 1
        }
        return (low, high)
    }
}
