/// Short strings a decoder met lately, found again by their bytes.
///
/// Symbols, assets, accounts and the ids of resting orders repeat in record
/// after record (a snapshot lists every symbol's mark and position again), and
/// building a `String` from bytes (validating them, copying them into the
/// string's inline form) was a third of decoding a log. Strings of up to 15
/// UTF-8 bytes are stored inline in a Swift `String`, so they fit a key of two
/// words beside their length: a lookup is two loads, a multiply and two
/// compares, and a hit hands back the string built the first time.
///
/// A direct-mapped table: a miss overwrites its slot, so ids seen once push out
/// a symbol now and then and cost one rebuild of it, never a wrong answer (the
/// whole key is compared). One table belongs to one decoding thread; it must
/// outlive every ``ByteReader`` given it.
public final class RecentStrings {
    struct Slot {
        /// The first eight bytes, little-endian, zero past the string's end.
        var low: UInt64
        /// Bytes 8–14, and the length in the top byte.
        var high: UInt64
        var string: String
    }

    /// The longest string kept: what a `String` stores inline.
    static let longest = 15
    private static let slotCount = 1 << slotBits
    private static let slotBits = 9

    let slots: UnsafeMutablePointer<Slot>

    public init() {
        slots = .allocate(capacity: Self.slotCount)
        // The empty key (both words zero) is the empty string's key.
        slots.initialize(repeating: Slot(low: 0, high: 0, string: ""), count: Self.slotCount)
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
    }

    /// The string of `count` (≤ 15) bytes at `start`, which must have 16 readable
    /// bytes: both words are loaded whole and masked to the string's length.
    @inline(__always)
    static func string(_ slots: UnsafeMutablePointer<Slot>, at start: UnsafePointer<UInt8>, count: Int) -> String {
        let raw = UnsafeRawPointer(start)
        let first = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let second = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        let low: UInt64
        var high = UInt64(truncatingIfNeeded: count) << 56
        if count >= 8 {
            low = first
            high |= second & ((1 &<< UInt64(8 * (count - 8))) &- 1)
        } else {
            low = first & ((1 &<< UInt64(8 * count)) &- 1)
        }
        let mixed = (low ^ (high &* 0x9E37_79B9_7F4A_7C15)) &* 0xFF51_AFD7_ED55_8CCD
        let slot = slots + Int(truncatingIfNeeded: mixed >> UInt64(64 - slotBits))
        if slot.pointee.low == low && slot.pointee.high == high { return slot.pointee.string }
        let string = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
        slot.pointee = Slot(low: low, high: high, string: string)
        return string
    }
}
