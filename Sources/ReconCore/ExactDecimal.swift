/// An exact base-10 number: `significand × 10^-scale`.
///
/// Every price, quantity, fee and amount in Recon is one of these; binary floating
/// point never touches a value that is summed or compared. Values are parsed from
/// their text, so `"0.1"` is exactly one tenth.
///
/// Limits (checked at parse, so arithmetic on parsed values stays exact):
/// at most ``maxInputScale`` fractional digits and ``maxInputIntegerDigits``
/// integer digits after trailing zeros are dropped. A value outside them cannot be
/// held exactly and is rejected, never rounded. Sums and differences are exact.
/// Products are exact unless they would exceed 38 significant digits, in which case
/// the operands are first rounded (half-even) to fewer fractional digits; with
/// inputs inside the limits that needs values no trading system produces.
public struct ExactDecimal: Sendable {
    /// The significand's two halves, stored apart: an `Int128` is aligned to 16
    /// bytes, which made each decimal 32 bytes (24 of them used), and every event,
    /// fill and order a quarter larger to copy and hand between cores.
    private let significandLow: UInt64
    private let significandHigh: Int64
    /// How many digits of `significand` are fractional (0...``maxScale``).
    public let scale: Int

    /// The integer significand.
    @inline(__always) public var significand: Int128 {
        Int128(significandHigh) << 64 | Int128(significandLow)
    }

    /// The largest fractional scale any value may carry.
    public static let maxScale = 38
    /// The largest fractional scale a parsed value may carry.
    public static let maxInputScale = 18
    /// The largest number of integer digits a parsed value may carry.
    public static let maxInputIntegerDigits = 20

    // Made from the stored halves, so the compiler lays them down: through the
    // checked initialiser each read called `swift_once` (1 % of a fold).
    public static let zero = ExactDecimal(low: 0, high: 0, scale: 0)
    public static let one = ExactDecimal(low: 1, high: 0, scale: 0)

    private init(low: UInt64, high: Int64, scale: Int) {
        significandLow = low
        significandHigh = high
        self.scale = scale
    }

    /// Creates `significand × 10^-scale`.
    public init(significand: Int128, scale: Int) {
        precondition(scale >= 0 && scale <= Self.maxScale, "scale out of range")
        significandLow = UInt64(truncatingIfNeeded: significand)
        significandHigh = Int64(truncatingIfNeeded: significand >> 64)
        self.scale = scale
    }

    /// Creates an integer value.
    public init(_ value: Int) {
        self.init(significand: Int128(value), scale: 0)
    }

    public var isZero: Bool { significand == 0 }
    public var isNegative: Bool { significand < 0 }
    public var isPositive: Bool { significand > 0 }
    /// -1, 0 or 1.
    public var signum: Int { significand == 0 ? 0 : (significand < 0 ? -1 : 1) }

    public var magnitude: ExactDecimal {
        significand < 0 ? ExactDecimal(significand: -significand, scale: scale) : self
    }

    /// The same value with trailing fractional zeros removed: the canonical form.
    public var normalized: ExactDecimal {
        if significand == 0 { return .zero }
        var sc = scale
        // Most significands fit 64 bits, where dividing by ten is a multiply;
        // a 128-bit remainder is a library call.
        if let small = Int64(exactly: significand) {
            var s = small
            while sc > 0 && s % 10 == 0 {
                s /= 10
                sc -= 1
            }
            return ExactDecimal(significand: Int128(s), scale: sc)
        }
        var s = significand
        while sc > 0 && s % 10 == 0 {
            s /= 10
            sc -= 1
        }
        return ExactDecimal(significand: s, scale: sc)
    }
}

// MARK: - Powers of ten

/// 10^0 ... 10^38. Written out rather than computed: a table of literals is laid
/// down by the compiler, where a computed one is initialised lazily and every
/// read of it (each rescaled sum) called `swift_once` first.
@usableFromInline
let powersOfTen: [Int128] = [
    1, 10, 100, 1000,
    10000, 100000, 1000000, 10000000,
    100000000, 1000000000, 10000000000, 100000000000,
    1000000000000, 10000000000000, 100000000000000, 1000000000000000,
    10000000000000000, 100000000000000000, 1000000000000000000, 10000000000000000000,
    100000000000000000000, 1000000000000000000000, 10000000000000000000000, 100000000000000000000000,
    1000000000000000000000000, 10000000000000000000000000, 100000000000000000000000000, 1000000000000000000000000000,
    10000000000000000000000000000, 100000000000000000000000000000, 1000000000000000000000000000000, 10000000000000000000000000000000,
    100000000000000000000000000000000, 1000000000000000000000000000000000, 10000000000000000000000000000000000, 100000000000000000000000000000000000,
    1000000000000000000000000000000000000, 10000000000000000000000000000000000000, 100000000000000000000000000000000000000
]

extension ExactDecimal {
    /// `significand` rescaled to `newScale` (≥ scale); nil on overflow.
    @inline(__always)
    func significand(atScale newScale: Int) -> Int128? {
        let diff = newScale - scale
        if diff == 0 { return significand }
        let (product, overflow) = significand.multipliedReportingOverflow(by: powersOfTen[diff])
        return overflow ? nil : product
    }

    /// Rounds to at most `targetScale` fractional digits, half to even.
    public func rounded(scale targetScale: Int) -> ExactDecimal {
        precondition(targetScale >= 0 && targetScale <= Self.maxScale)
        if targetScale >= scale { return self }
        let quotient = Self.roundedQuotient(significand, powersOfTen[scale - targetScale])
        return ExactDecimal(significand: quotient, scale: targetScale)
    }

    /// `numerator / denominator` rounded half to even.
    static func roundedQuotient(_ numerator: Int128, _ denominator: Int128) -> Int128 {
        // Most operands fit 64 bits, where the division is one instruction
        // instead of a 128-bit library call; same rounding.
        if let n = Int64(exactly: numerator), let d = Int64(exactly: denominator), n != .min {
            return Int128(roundedQuotient(of: n, by: d))
        }
        return roundedQuotient(of: numerator, by: denominator)
    }

    @inline(__always)
    private static func roundedQuotient<Integer: FixedWidthInteger & SignedInteger>(of numerator: Integer, by denominator: Integer) -> Integer {
        var (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        // |remainder| < |denominator| <= 2^(bits-1), so doubling fits the magnitude type.
        let twice = remainder.magnitude * 2
        let whole = denominator.magnitude
        if twice > whole || (twice == whole && quotient % 2 != 0) {
            quotient += (numerator < 0) != (denominator < 0) ? -1 : 1
        }
        return quotient
    }
}

// MARK: - Arithmetic

extension ExactDecimal {
    public static func + (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        if lhs.scale == rhs.scale {
            return ExactDecimal(significand: lhs.significand + rhs.significand, scale: lhs.scale)
        }
        let scale = max(lhs.scale, rhs.scale)
        guard let a = lhs.significand(atScale: scale), let b = rhs.significand(atScale: scale) else {
            // Only reachable far outside the input limits: drop precision, never wrap.
            return lhs.normalized.rounded(scale: min(scale, 18)) + rhs.normalized.rounded(scale: min(scale, 18))
        }
        return ExactDecimal(significand: a + b, scale: scale)
    }

    public static prefix func - (value: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: -value.significand, scale: value.scale)
    }

    public static func - (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        lhs + (-rhs)
    }

    public static func * (lhs: ExactDecimal, rhs: ExactDecimal) -> ExactDecimal {
        var a = lhs
        var b = rhs
        while true {
            let (product, overflow) = a.significand.multipliedReportingOverflow(by: b.significand)
            if !overflow && a.scale + b.scale <= maxScale {
                return ExactDecimal(significand: product, scale: a.scale + b.scale)
            }
            // Rare path: shed fractional digits from the finer operand and retry.
            a = a.normalized
            b = b.normalized
            if a.scale >= b.scale, a.scale > 0 {
                a = a.rounded(scale: a.scale - 1)
            } else if b.scale > 0 {
                b = b.rounded(scale: b.scale - 1)
            } else {
                preconditionFailure("decimal product exceeds 38 integer digits")
            }
        }
    }

    public static func += (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs + rhs }
    public static func -= (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs - rhs }
    public static func *= (lhs: inout ExactDecimal, rhs: ExactDecimal) { lhs = lhs * rhs }

    /// `self / divisor` rounded half-even to `scale` fractional digits.
    /// Division is the one inexact operation, so its precision is always explicit.
    /// If the quotient cannot be held at that scale, fewer digits are kept.
    public func divided(by divisor: ExactDecimal, scale targetScale: Int) -> ExactDecimal {
        precondition(!divisor.isZero, "division by zero")
        let a = normalized
        let b = divisor.normalized
        var resultScale = targetScale
        while true {
            // (a / 10^sa) / (b / 10^sb) at scale t is a * 10^(t + sb - sa) / b.
            let shift = resultScale + b.scale - a.scale
            var numerator = a.significand
            var denominator = b.significand
            var fits = true
            if shift >= 0 {
                if shift > 38 {
                    fits = false
                } else {
                    let (product, overflow) = numerator.multipliedReportingOverflow(by: powersOfTen[shift])
                    fits = !overflow
                    numerator = product
                }
            } else {
                guard -shift <= 38 else { return ExactDecimal(significand: 0, scale: resultScale) }
                let (product, overflow) = denominator.multipliedReportingOverflow(by: powersOfTen[-shift])
                // A denominator past 2^127 exceeds any numerator: the quotient rounds to 0.
                guard !overflow else { return ExactDecimal(significand: 0, scale: resultScale) }
                denominator = product
            }
            if fits {
                return ExactDecimal(significand: Self.roundedQuotient(numerator, denominator), scale: resultScale)
            }
            precondition(resultScale > 0, "decimal quotient exceeds 38 integer digits")
            resultScale -= 1
        }
    }
}

// MARK: - Comparison and hashing

extension ExactDecimal: Comparable, Hashable {
    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        compare(lhs, rhs) == 0
    }

    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// -1, 0, 1 as `lhs` is below, equal to or above `rhs`.
    public static func compare(_ lhs: ExactDecimal, _ rhs: ExactDecimal) -> Int {
        if lhs.scale == rhs.scale {
            return lhs.significand == rhs.significand ? 0 : (lhs.significand < rhs.significand ? -1 : 1)
        }
        let ls = lhs.signum, rs = rhs.signum
        if ls != rs { return ls < rs ? -1 : 1 }
        let scale = max(lhs.scale, rhs.scale)
        switch (lhs.significand(atScale: scale), rhs.significand(atScale: scale)) {
        case let (a?, b?):
            return a == b ? 0 : (a < b ? -1 : 1)
        case (nil, _):
            // lhs overflowed when scaled up: its magnitude is the larger one.
            return ls > 0 ? 1 : -1
        case (_, nil):
            return rs > 0 ? -1 : 1
        }
    }

    public func hash(into hasher: inout Hasher) {
        let n = normalized
        hasher.combine(n.significand)
        hasher.combine(n.scale)
    }
}

// MARK: - Text

extension ExactDecimal: CustomStringConvertible, LosslessStringConvertible {
    /// Canonical text: plain decimal notation, no exponent, no trailing fractional
    /// zeros, no `-0`. Parsing it gives back an equal value.
    ///
    /// Written backwards into one buffer, digit by digit, 64 bits at a time:
    /// every report, alert and finding message prints decimals, and building the
    /// text with string inserts and concatenations was 4 % of a drift (now under 1 %).
    public var description: String {
        if significand == 0 { return "0" }
        let canonical = normalized
        var magnitude = canonical.significand.magnitude
        let fractional = canonical.scale
        // At most 39 digits, 38 leading zeros after the point, "0.", and a sign.
        let capacity = 80
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var at = capacity
            var written = 0
            func digit(_ d: UInt64) {
                if written == fractional && fractional > 0 {
                    at -= 1
                    buffer[at] = UInt8(ascii: ".")
                }
                at -= 1
                buffer[at] = UInt8(truncatingIfNeeded: d) &+ UInt8(ascii: "0")
                written += 1
            }
            // Chunks of 19 digits (the most a UInt64 holds) while the value needs 128 bits.
            while magnitude > UInt128(UInt64.max) {
                let (rest, chunk) = magnitude.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000)
                var low = UInt64(chunk)
                for _ in 0..<19 {
                    digit(low % 10)
                    low /= 10
                }
                magnitude = rest
            }
            var low = UInt64(magnitude)
            while low > 0 {
                digit(low % 10)
                low /= 10
            }
            if fractional > 0 && written <= fractional {
                while written < fractional { digit(0) }
                at -= 2
                buffer[at] = UInt8(ascii: "0")
                buffer[at + 1] = UInt8(ascii: ".")
            }
            if significand < 0 {
                at -= 1
                buffer[at] = UInt8(ascii: "-")
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[at...]), as: UTF8.self)
        }
    }

    /// Parses plain decimal text (`-12.5`, `0.001`); see ``parse(_:allowExponent:)``.
    public init?(_ text: String) {
        var copy = text
        guard let value = copy.withUTF8({ try? ExactDecimal.parse($0, allowExponent: false) }) else { return nil }
        self = value
    }

    /// Why a text is not an exact decimal.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case syntax
        case tooPrecise
        case tooLarge
        case notFinite

        public var description: String {
            switch self {
            case .syntax: return "not a decimal number"
            case .tooPrecise: return "more than \(ExactDecimal.maxInputScale) fractional digits cannot be held exactly"
            case .tooLarge: return "more than \(ExactDecimal.maxInputIntegerDigits) integer digits cannot be held exactly"
            case .notFinite: return "NaN and Infinity are not numbers"
            }
        }
    }

    /// Parses JSON number grammar from UTF-8 bytes without any binary float.
    ///
    /// `allowExponent` admits `1.5e-3` (JSON numbers); decimal strings are plain.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, allowExponent: Bool) throws(ParseError) -> ExactDecimal {
        var i = 0
        let n = bytes.count
        var negative = false
        if i < n && bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        if i >= n { throw .syntax }
        if bytes[i] == UInt8(ascii: "N") || bytes[i] == UInt8(ascii: "I") || bytes[i] == UInt8(ascii: "i") || bytes[i] == UInt8(ascii: "n") {
            throw .notFinite
        }
        // Integer part: "0" or [1-9][0-9]*
        let intStart = i
        while i < n && bytes[i] >= 48 && bytes[i] <= 57 { i += 1 }
        let intEnd = i
        if intEnd == intStart { throw .syntax }
        if intEnd - intStart > 1 && bytes[intStart] == UInt8(ascii: "0") { throw .syntax }
        var fracStart = i, fracEnd = i
        if i < n && bytes[i] == UInt8(ascii: ".") {
            i += 1
            fracStart = i
            while i < n && bytes[i] >= 48 && bytes[i] <= 57 { i += 1 }
            fracEnd = i
            if fracEnd == fracStart { throw .syntax }
        }
        var exponent = 0
        if i < n && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            guard allowExponent else { throw .syntax }
            i += 1
            var expNegative = false
            if i < n && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            let expStart = i
            while i < n && bytes[i] >= 48 && bytes[i] <= 57 {
                if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] - 48) }
                i += 1
            }
            if i == expStart { throw .syntax }
            if expNegative { exponent = -exponent }
        }
        if i != n { throw .syntax }

        // Significant digits: integer digits then fraction digits, trailing zeros of
        // the fraction dropped (they carry no value), leading zeros skipped.
        var lastFrac = fracEnd
        while lastFrac > fracStart && bytes[lastFrac - 1] == UInt8(ascii: "0") { lastFrac -= 1 }
        var scale = (lastFrac - fracStart) - exponent
        // The first 18 digits go into a UInt64 (prices and sizes rarely have
        // more); 128-bit arithmetic per digit was most of this function's time.
        var small: UInt64 = 0
        var significand: Int128 = 0
        var digitCount = 0
        func push(_ byte: UInt8) {
            if digitCount == 0 && byte == 48 { return }
            digitCount += 1
            if digitCount <= 18 {
                small = small &* 10 &+ UInt64(byte - 48)
            } else if digitCount <= 38 {
                if digitCount == 19 { significand = Int128(small) }
                significand = significand * 10 + Int128(byte - 48)
            }
        }
        for k in intStart..<intEnd { push(bytes[k]) }
        for k in fracStart..<lastFrac { push(bytes[k]) }
        if digitCount <= 18 { significand = Int128(small) }
        if significand == 0 { return .zero }
        // Integer digits in the value: digitCount - scale.
        if digitCount > 38 { throw scale > maxInputScale ? .tooPrecise : .tooLarge }
        // A negative scale means trailing integer zeros from an exponent.
        while scale < 0 {
            if digitCount - scale > maxInputIntegerDigits { throw .tooLarge }
            significand *= 10
            digitCount += 1
            scale += 1
        }
        // Drop trailing zeros of an integer significand with a positive scale (from
        // e.g. 1500e-2). Without an exponent the last digit kept is not a zero.
        while exponent != 0 && scale > 0 && significand % 10 == 0 {
            significand /= 10
            scale -= 1
            digitCount -= 1
        }
        if scale > maxInputScale { throw .tooPrecise }
        if digitCount - scale > maxInputIntegerDigits { throw .tooLarge }
        return ExactDecimal(significand: negative ? -significand : significand, scale: scale)
    }
}

extension ExactDecimal: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral {
    public init(integerLiteral value: Int) {
        self.init(value)
    }

    /// For tests and constants: `"0.001" as ExactDecimal`. Traps on bad text.
    public init(stringLiteral value: String) {
        guard let parsed = ExactDecimal(value) else { preconditionFailure("bad decimal literal \(value)") }
        self = parsed
    }
}
