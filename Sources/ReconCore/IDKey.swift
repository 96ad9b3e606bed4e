/// An identifier (order id, fill id, symbol, asset) as a hash-table key:
/// compared and hashed by its UTF-8 bytes, with a hash a few multiplies long.
///
/// A `String` key costs SipHash over the string's normalized form at every
/// lookup; with ten or so lookups per fill that was a sixth of a full fold.
/// Venues treat ids as opaque bytes, and so does this key: two ids that only
/// Unicode canonical equivalence would equate ("K" and the Kelvin sign) are two
/// ids here, as they are to the venue and to the settled fills' digests.
///
/// Hash flooding: ids come from the bot's own log and its venue, and the hash
/// is keyed by the table's per-process seed; ids crafted to collide cost
/// probes, never a wrong answer (keys compare on every byte).
public struct IDKey: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var string: String

    @inline(__always) public init(_ string: String) { self.string = string }

    public init(stringLiteral value: String) { string = value }

    public var description: String { string }

    /// Identical representations (the same small string, the same storage) are
    /// equal at once; strings `String` finds unequal are unequal here too (equal
    /// bytes are always canonically equal), told apart in a few nanoseconds;
    /// strings it finds equal are confirmed by their bytes (canonically equal
    /// strings can differ in bytes: those are two ids).
    @inline(__always) public static func == (a: IDKey, b: IDKey) -> Bool {
        if SmallString.sameRepresentation(a.string, b.string) { return true }
        guard a.string == b.string else { return false }
        return a.string.withBytes { x in b.string.withBytes { y in IDHash.equal(x, y) } }
    }

    /// Byte order, which for UTF-8 is code-point order.
    public static func < (a: IDKey, b: IDKey) -> Bool {
        a.string.withBytes { x in b.string.withBytes { y in x.lexicographicallyPrecedes(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(IDHash.hash(string, seed: 0))
    }

    @inline(__always) public func _rawHashValue(seed: Int) -> Int {
        Int(truncatingIfNeeded: IDHash.hash(string, seed: UInt64(truncatingIfNeeded: seed)))
    }
}

extension String {
    /// The string's UTF-8 bytes, in place (a small string's from the stack).
    @inline(__always) func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let result = utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) { return result }
        var copy = self
        return copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }
}

/// A short-input hash of bytes: words folded by 128-bit multiplies, as in the
/// wyhash family. Ids are mostly 4–15 bytes, held in the string value itself:
/// two loads and two multiplies.
enum IDHash {
    /// The standard library's per-process hashing seed, as its dictionaries
    /// use: mixed into where a table puts a key, so keys chosen to crowd one run
    /// of slots cannot be chosen ahead of time. The same for every call in a
    /// process; it moves slots only, never an answer.
    static func processSeed() -> UInt64 {
        var hasher = Hasher()
        hasher.combine(0)
        return UInt64(truncatingIfNeeded: hasher.finalize())
    }

    private static let k0: UInt64 = 0xA076_1D64_78BD_642F
    private static let k1: UInt64 = 0xE703_7ED1_A0B4_28DB
    private static let k2: UInt64 = 0x8EBC_6AF0_9C88_C6E3

    @inline(__always) static func hash(_ s: String, seed: UInt64) -> UInt64 {
        if let (low, high, count) = SmallString.bytes(of: s) {
            return hashWords(low, high, count: count, seed: seed)
        }
        return s.withBytes { hash($0, seed: seed) }
    }

    @inline(__always) private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }

    @inline(__always) private static func word(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    /// Byte equality, a word at a time.
    @inline(__always) static func equal(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
        let n = x.count
        guard n == y.count else { return false }
        if n >= 8 {
            var at = 0
            while n - at > 8 {
                if word(x, at) != word(y, at) { return false }
                at += 8
            }
            return word(x, n - 8) == word(y, n - 8)
        }
        for i in 0..<n where x[i] != y[i] { return false }
        return true
    }

    /// The small-string words' hash, and the same for the same bytes held any
    /// other way (equal keys must hash alike whatever their representation).
    @inline(__always) static func hashWords(_ low: UInt64, _ high: UInt64, count: UInt64, seed: UInt64) -> UInt64 {
        fold(k1 ^ count, fold(low ^ k1, high ^ seed ^ k0 ^ count) ^ k2)
    }

    static func hash(_ p: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let n = p.count
        if n <= 15 {
            let (low, high) = SmallString.words(p)
            return hashWords(low, high, count: UInt64(n), seed: seed)
        }
        var h = seed ^ k0 ^ UInt64(truncatingIfNeeded: n)
        var at = 0
        while n - at > 16 {
            h = fold(word(p, at) ^ k1, word(p, at + 8) ^ h)
            at += 16
        }
        return fold(k2 ^ UInt64(truncatingIfNeeded: n), fold(word(p, n - 16) ^ k1, word(p, n - 8) ^ h) ^ k2)
    }
}

/// A table keyed by ids, asked with plain strings.
extension Dictionary where Key == IDKey {
    @inline(__always) public subscript(_ id: String) -> Value? {
        get { self[IDKey(id)] }
        _modify { yield &self[IDKey(id)] }
    }

    @inline(__always) public subscript(_ id: String, default defaultValue: @autoclosure () -> Value) -> Value {
        get { self[IDKey(id)] ?? defaultValue() }
        // Found by index and changed in place. Handing the autoclosure on to the
        // standard `default:` subscript from this accessor put its context on
        // the heap: an allocation and a free at every balance credit, 2.5 % of
        // a full fold.
        _modify {
            let key = IDKey(id)
            let index: Index
            if let found = self.index(forKey: key) {
                index = found
            } else {
                self[key] = defaultValue()
                index = self.index(forKey: key)!
            }
            yield &values[index]
        }
    }

    @inline(__always) public func index(forKey id: String) -> Index? { index(forKey: IDKey(id)) }

    @inline(__always) @discardableResult
    public mutating func removeValue(forKey id: String) -> Value? { removeValue(forKey: IDKey(id)) }

    @inline(__always) @discardableResult
    mutating func removeValueIfAny(forKey id: String) -> Value? { removeValueIfAny(forKey: IDKey(id)) }

    @inline(__always) func valueIfAny(forKey id: String) -> Value? { valueIfAny(forKey: IDKey(id)) }
}
