import Testing
@testable import ReconCore

/// The word-at-a-time scans must stop exactly where a byte loop would.
@Suite struct ByteScanTests {
    /// Random buffers of every length up to 40, each byte drawn so that quotes,
    /// backslashes, newlines, control bytes and non-ASCII all turn up often;
    /// every start offset.
    @Test func scansAgreeWithAByteLoop() {
        var random = SeededRandom(seed: 5)
        let alphabet: [UInt8] = [0x0A, 0x00, 0x1F, 0x20, 0x22, 0x5C, 0x7E, 0x7F, 0x80, 0xC3, 0xFF, 0x41, 0x61, 0x30]
        for _ in 0..<400 {
            let length = Int.random(in: 0...40, using: &random)
            // Mostly plain letters, so runs long enough for whole words occur.
            let bytes: [UInt8] = (0..<length).map { _ in
                Int.random(in: 0..<6, using: &random) == 0 ? alphabet.randomElement(using: &random)! : UInt8.random(in: 0x23...0x5B, using: &random)
            }
            bytes.withUnsafeBufferPointer { buffer in
                for start in 0...length {
                    let newline = buffer[start...].firstIndex(of: 0x0A) ?? length
                    #expect(ByteScan.firstIndex(of: 0x0A, in: buffer, from: start) == newline, "\(bytes) from \(start)")
                    let plainEnd = buffer[start...].firstIndex { $0 < 0x20 || $0 >= 0x80 || $0 == 0x22 || $0 == 0x5C } ?? length
                    let skipped = ByteScan.skipPlainText(buffer, from: start)
                    // It may stop early (at the word holding the byte), never late,
                    // and it only ever skips whole words.
                    #expect(skipped <= plainEnd && skipped >= start && (skipped - start) % 8 == 0, "\(bytes) from \(start)")
                    #expect(plainEnd - skipped < 8 || skipped + 8 > length, "\(bytes) from \(start): stopped at \(skipped), plain text runs to \(plainEnd)")
                }
            }
        }
    }

    /// Strings with escapes and non-ASCII text after long plain runs still decode.
    @Test func stringsWithSpecialBytesAfterLongPlainRunsDecode() throws {
        let text = #"{"a":"abcdefghijklmnop\"q","b":"abcdefghijklmnopé","c":"abcdefghij\\klmnop\n"}"#
        guard case .object(let object) = try JSONReader.parse(text) else { Issue.record("not an object"); return }
        #expect(object["a"] == .string("abcdefghijklmnop\"q"))
        #expect(object["b"] == .string("abcdefghijklmnopé"))
        #expect(object["c"] == .string("abcdefghij\\klmnop\n"))
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse("\"abcdefghijklmnop\u{01}x\"") }
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(#"{"abcdefghijk":1,"abcdefghijk":2}"#) }
    }
}
