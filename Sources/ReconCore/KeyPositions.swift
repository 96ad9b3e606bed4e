/// Where each key of a reported list lies in it: an open-addressing table of
/// positions, found by a multiply-and-shift hash of the key's bytes.
///
/// A run probes the venue's list once per bot order and per symbol; with
/// `[String: Int]` each insert and probe paid SipHash's set-up and finish (about
/// 5 % of a drift between them). The keys are order ids and symbols, short and
/// not chosen against us, and the table only finds: nothing depends on its
/// order, and every probe compares the key itself.
struct KeyPositions: Sendable {
    /// Position in the list, or -1 for an empty slot. A power of two long, at
    /// most half full.
    private var slots: [Int32]
    /// Distinct keys.
    private(set) var count = 0

    /// Indexes `list`; a key listed twice keeps its last position.
    init<Item: SectionItem>(_ list: [Item]) {
        var capacity = 8
        while capacity < list.count * 2 { capacity *= 2 }
        slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        var distinct = 0
        slots.withUnsafeMutableBufferPointer { slots in
            for (at, item) in list.enumerated() {
                let key = item.sectionKey
                var slot = Self.slot(of: key, mask: mask)
                while slots[slot] >= 0 && list[Int(slots[slot])].sectionKey != key { slot = (slot + 1) & mask }
                if slots[slot] < 0 { distinct += 1 }
                slots[slot] = Int32(at)
            }
        }
        count = distinct
    }

    /// The position of `key` in `list` (the list this was built from).
    @inline(__always)
    func position<Item: SectionItem>(of key: String, in list: [Item]) -> Int? {
        let mask = slots.count - 1
        var slot = Self.slot(of: key, mask: mask)
        while true {
            let at = slots[slot]
            if at < 0 { return nil }
            if list[Int(at)].sectionKey == key { return Int(at) }
            slot = (slot + 1) & mask
        }
    }

    /// Each distinct key's position, in no particular order.
    func forEach(_ body: (Int) -> Void) {
        for at in slots where at >= 0 { body(Int(at)) }
    }

    /// Eight bytes at a time, each word multiplied in, then the high bits folded
    /// down so that the mask sees all of them.
    @inline(__always)
    static func slot(of key: String, mask: Int) -> Int {
        var key = key
        let hash = key.withUTF8 { bytes -> UInt64 in
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
            guard let base = bytes.baseAddress else { return h }
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i + 8 <= bytes.count {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 32
                i += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < bytes.count {
                tail |= UInt64(bytes[i]) << shift
                shift += 8
                i += 1
            }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
            return h ^ (h >> 29)
        }
        return Int(truncatingIfNeeded: hash) & mask
    }
}
