import Testing
@testable import ReconCore

/// The CPU's CRC-32C must give the software table's value on every input, or a
/// log written on one machine would fail its checks on another.
@Suite struct CRC32CTests {
    @Test func theCheckValueIsTheStandardOne() {
        let text = Array("123456789".utf8)
        #expect(text.withUnsafeBytes { CRC32C.software($0) } == 0xE306_9283)
        #expect(text.withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
    }

    /// Every length from 0 to 2,400 at every offset from 0 to 7 (unaligned
    /// starts), over random bytes: one chain's 8-byte steps and every tail after
    /// them, and up to three blocks of the three chains that a record of 768
    /// bytes or more is taken in (so every join of their registers) with every
    /// tail after those.
    @Test func hardwareAndSoftwareAgreeOnEveryLengthAndAlignment() throws {
        try #require(CRC32C.usesHardware, "this CPU has no SSE4.2; the software table is the only path")
        var random = SeededRandom(seed: 11)
        let bytes = (0..<2_408).map { _ in UInt8.random(in: 0...255, using: &random) }
        bytes.withUnsafeBytes { all in
            for offset in 0..<8 {
                for length in 0...2_400 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<offset + length])
                    #expect(CRC32C.hardware(slice) == CRC32C.software(slice), "offset \(offset), length \(length)")
                }
            }
        }
    }
}
