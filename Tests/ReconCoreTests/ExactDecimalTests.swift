import Testing
@testable import ReconCore

@Suite struct ExactDecimalTests {
    @Test(arguments: [
        ("0.001", "0.001"), ("1.50", "1.5"), ("-0", "0"), ("0.000", "0"), ("65000.5", "65000.5"),
        ("-12.340", "-12.34"), ("100", "100"), ("0.4000000000000001", "0.4000000000000001"),
        // Around the 18 digits that the parser accumulates in 64 bits, and up to 38.
        ("123456789012345678", "123456789012345678"), ("1234567890123456789", "1234567890123456789"),
        ("-0.000000000000000001", "-0.000000000000000001"), ("99999999999999999.99", "99999999999999999.99"),
        ("12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678"),
        ("-99999999999999999999.999999999999999999", "-99999999999999999999.999999999999999999"),
        ("000.5", nil), ("0.5000000000000000000000", "0.5"),
    ])
    func canonicalText(input: String, expected: String?) throws {
        guard let expected else {
            #expect(ExactDecimal(input) == nil)
            return
        }
        let value = try #require(ExactDecimal(input))
        #expect(value.description == expected)
    }

    /// The written-out table of powers of ten, and the constants made from raw halves.
    @Test func powersOfTenAndConstants() {
        #expect(powersOfTen.count == ExactDecimal.maxScale + 1)
        var power: Int128 = 1
        for (k, entry) in powersOfTen.enumerated() {
            #expect(entry == power, "10^\(k)")
            if k < ExactDecimal.maxScale { power *= 10 }
        }
        #expect(ExactDecimal.zero == ExactDecimal(significand: 0, scale: 0) && ExactDecimal.zero.isZero)
        #expect(ExactDecimal.one == ExactDecimal(significand: 1, scale: 0) && ExactDecimal.one.description == "1")
    }

    @Test(arguments: [
        ("1e-3", "0.001"), ("3.36e-7", "0.000000336"), ("1.5E+2", "150"), ("1500e-2", "15"), ("-2.5e1", "-25"),
        ("1234567890123456789e-10", "123456789.0123456789"), ("120e-1", "12"), ("1.50e1", "15"), ("0e5", "0"),
    ])
    func jsonNumbersWithExponent(input: String, expected: String) throws {
        var text = input
        let value = try text.withUTF8 { try ExactDecimal.parse($0, allowExponent: true) }
        #expect(value.description == expected)
    }

    @Test(arguments: ["", "-", "1.", ".5", "01", "1e5", "NaN", "Infinity", "+1", "1..2", "0x10", " 1", "1 "])
    func rejectsBadText(input: String) {
        #expect(ExactDecimal(input) == nil)
    }

    @Test func rejectsValuesThatCannotBeHeldExactly() {
        var huge = "1e400"
        #expect(throws: ExactDecimal.ParseError.tooLarge) { try huge.withUTF8 { try ExactDecimal.parse($0, allowExponent: true) } }
        var tiny = "1e-400"
        #expect(throws: ExactDecimal.ParseError.tooPrecise) { try tiny.withUTF8 { try ExactDecimal.parse($0, allowExponent: true) } }
        #expect(ExactDecimal("0." + String(repeating: "1", count: 19)) == nil)
        #expect(ExactDecimal(String(repeating: "9", count: 21)) == nil)
        #expect(ExactDecimal(String(repeating: "9", count: 20)) != nil)
    }

    @Test func exactArithmetic() {
        let a: ExactDecimal = "0.1"
        let b: ExactDecimal = "0.2"
        #expect(a + b == "0.3")
        #expect(("65000.5" as ExactDecimal) * "0.01" == "650.005")
        #expect(("1" as ExactDecimal) - "0.999" == "0.001")
        #expect(("1.50" as ExactDecimal) == "1.5")
        #expect(("1.50" as ExactDecimal).hashValue == ("1.5" as ExactDecimal).hashValue)
        #expect(("-0.5" as ExactDecimal) < "0.25")
    }

    @Test(arguments: [
        ("1", "3", 4, "0.3333"), ("2", "3", 4, "0.6667"), ("-2", "3", 4, "-0.6667"),
        ("1", "8", 2, "0.12"), ("3", "8", 2, "0.38"), ("5", "2", 0, "2"), ("7", "2", 0, "4"), ("10", "4", 0, "2"),
    ])
    func divisionRoundsHalfEven(a: String, b: String, scale: Int, expected: String) {
        #expect(ExactDecimal(a)!.divided(by: ExactDecimal(b)!, scale: scale) == ExactDecimal(expected)!)
    }

    /// The rounded quotient is the nearest integer, ties to even, whether the
    /// operands take the 64-bit path or the 128-bit one.
    @Test func roundedQuotientIsNearestTiesToEven() {
        var rng = SeededRandom(seed: 5)
        var pairs: [(Int128, Int128)] = [(Int128(Int64.min), -1), (Int128(Int64.min), 3), (7, Int128(Int64.min)), (Int128(Int64.max), -2)]
        for _ in 0..<20_000 {
            let width = rng.below(100) + 1
            var n = Int128(truncatingIfNeeded: UInt128(rng.next()) << 64 | UInt128(rng.next())) >> (127 - width)
            var d = Int128(rng.next() >> UInt64(rng.below(64))) | 1
            if rng.chance(50) { d = -d }
            // A third are exact ties: n = d·k + d/2 for an even d.
            if rng.chance(33), d.magnitude < 1 << 62 {
                d *= 2
                n = d * Int128(rng.next() % 1_000_000) + d / 2
            }
            pairs.append((n, d))
        }
        for (n, d) in pairs {
            let q = ExactDecimal.roundedQuotient(n, d)
            let twiceError = (n - q * d).magnitude * 2
            #expect(twiceError <= d.magnitude, "\(n) / \(d) gave \(q)")
            if twiceError == d.magnitude { #expect(q % 2 == 0, "\(n) / \(d) gave \(q), not the even neighbour") }
        }
    }

    @Test(arguments: [("2.5", 0, "2"), ("3.5", 0, "4"), ("-2.5", 0, "-2"), ("1.005", 2, "1"), ("1.015", 2, "1.02"), ("1.2345", 3, "1.234")])
    func roundingHalfEven(value: String, scale: Int, expected: String) {
        #expect(ExactDecimal(value)!.rounded(scale: scale) == ExactDecimal(expected)!)
    }

    /// Random values within the input limits obey the algebraic laws exactly.
    @Test func algebraicLawsOnRandomValues() {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<2_000 {
            let a = randomDecimal(&rng), b = randomDecimal(&rng), c = randomDecimal(&rng)
            #expect(a + b == b + a)
            #expect((a + b) + c == a + (b + c))
            #expect(a * b == b * a)
            #expect(a * (b + c) == a * b + a * c)
            #expect(a - a == .zero)
            #expect(a + .zero == a)
            #expect((a < b) == (b > a))
            #expect(ExactDecimal.compare(a, b) == -ExactDecimal.compare(b, a))
        }
    }

    /// Text round trip: parse(format(x)) == x, and format is canonical.
    @Test func textRoundTripOnRandomValues() throws {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<5_000 {
            let a = randomDecimal(&rng)
            let text = a.description
            let back = try #require(ExactDecimal(text))
            #expect(back == a)
            #expect(back.description == text)
            #expect(!text.contains("e"))
        }
    }

    /// The printed text against a plain reference (digits, then the point
    /// inserted) over the whole range: every scale, 128-bit significands, values
    /// below one, trailing zeros and both signs.
    @Test func textMatchesAReferenceOverTheWholeRange() {
        func reference(_ x: ExactDecimal) -> String {
            var digits = String(x.significand.magnitude)
            var scale = x.scale
            while scale > 0 && digits.count > 1 && digits.hasSuffix("0") {
                digits.removeLast()
                scale -= 1
            }
            if digits == "0" { return "0" }
            if scale > 0 {
                if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
                digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
            }
            return x.significand < 0 ? "-" + digits : digits
        }
        var rng = SeededRandom(seed: 11)
        var values: [ExactDecimal] = [
            ExactDecimal(significand: .max, scale: 0), ExactDecimal(significand: .min, scale: 0),
            ExactDecimal(significand: .min, scale: 38), ExactDecimal(significand: 1, scale: 38),
            ExactDecimal(significand: -100, scale: 2), ExactDecimal(significand: 0, scale: 5),
            ExactDecimal(significand: Int128(UInt64.max), scale: 19), ExactDecimal(significand: Int128(UInt64.max) + 1, scale: 20),
            ExactDecimal(significand: 10_000_000_000_000_000_000, scale: 19),
        ]
        for _ in 0..<20_000 {
            // Magnitudes of every width, with runs of trailing zeros.
            var magnitude = UInt128(rng.next()) << 64 | UInt128(rng.next())
            magnitude >>= UInt128(rng.below(128))
            if rng.chance(30) { magnitude = magnitude / 1_000_000 * 1_000_000 }
            let significand = Int128(truncatingIfNeeded: magnitude)
            values.append(ExactDecimal(significand: rng.chance(50) ? significand : 0 &- significand, scale: rng.below(39)))
        }
        for x in values {
            #expect(x.description == reference(x), "significand \(x.significand), scale \(x.scale)")
        }
    }

    func randomDecimal(_ rng: inout SeededRandom) -> ExactDecimal {
        let scale = rng.below(9)
        let magnitude = Int128(rng.next() % 1_000_000_000_000)
        return ExactDecimal(significand: rng.chance(30) ? -magnitude : magnitude, scale: scale)
    }
}
