/// Scans of UTF-8 input eight bytes at a time (one 64-bit word), for the loops
/// that look at every input byte: splitting NDJSON lines and reading JSON strings.
/// A byte loop there did not vectorise and was a tenth of decoding time.
///
/// Each word test is the "has a zero byte" identity: for `x = word ^ pattern`,
/// `(x - 0x01…01) & ~x & 0x80…80` is non-zero exactly when some byte of `word`
/// equals the pattern's byte, and its lowest set bit marks the first such byte.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    @inline(__always)
    private static func word(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt64 {
        // Little-endian order whatever the CPU: byte k is bits 8k..<8k+8.
        UInt64(littleEndian: UnsafeRawPointer(bytes.baseAddress!).loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func matches(_ word: UInt64, _ byte: UInt8) -> UInt64 {
        let x = word ^ (UInt64(byte) &* ones)
        return (x &- ones) & ~x & highs
    }

    /// The index of the first `byte` at or after `start`, or `bytes.count`.
    static func firstIndex(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        let n = bytes.count
        while i + 8 <= n {
            let found = matches(word(bytes, i), byte)
            if found != 0 { return i + (found.trailingZeroBitCount >> 3) }
            i += 8
        }
        while i < n && bytes[i] != byte { i += 1 }
        return i
    }

    /// Skips whole words of plain string text: printable ASCII other than `"` and
    /// `\`. Returns where the first word holding anything else starts (the byte
    /// loop after it decides what that is), so nothing is decided here.
    static func skipPlainText(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var i = start
        let n = bytes.count
        while i + 8 <= n {
            let w = word(bytes, i)
            // Bytes below 0x20 borrow into their high bit; bytes of 0x80 and up
            // have it already.
            let control = (w &- (0x20 &* ones)) & highs
            let special = matches(w, UInt8(ascii: "\"")) | matches(w, UInt8(ascii: "\\")) | control | (w & highs)
            if special != 0 { return i }
            i += 8
        }
        return i
    }
}
