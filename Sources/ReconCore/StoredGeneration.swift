/// An older generation of closed orders kept as the bytes a checkpoint stores it
/// in, and searched there: attaching one to a projection read from a checkpoint
/// is a copy of about 1 MB, where decoding its 20,000 entries and hashing each id
/// into a table was a fifth of an as-of read. A generation never changes once it
/// is the older one (`ClosedOrders`), so its bytes never need rewriting.
///
/// Layout (`ClosedOrders.encodedOlder()`): the generation's number (varint), its
/// entries as a list (count, then each entry in closing order), then one index
/// pair per entry, sorted: the FNV-1a hash of the order id (u64 little-endian)
/// and the entry's offset in these bytes (u32 little-endian); last, the CRC-32C
/// of everything before it (u32 little-endian). A lookup hashes the id, bisects
/// the pairs and decodes only the entries whose hash matches, comparing their
/// ids, so a hash collision costs a decode, never a wrong answer.
struct StoredGeneration: Sendable {
    /// The generation's whole stored form: what `encodedOlder` hands back as is.
    let bytes: [UInt8]
    /// Entries (and index pairs).
    let count: Int
    /// Where the first index pair starts.
    private let indexStart: Int

    static let pairSize = 12

    /// Checks the checksum and the index (in order, every offset among the
    /// entries) and keeps the bytes.
    ///
    /// The entries are not walked: the checksum stands for them. Walking all
    /// 20,000 to check that each decodes, and that each index offset starts
    /// one, was three quarters of attaching a generation (a sixth of an as-of
    /// read's restore), and caught only damage that broke the structure; the
    /// checksum catches any. A lookup still decodes with bounds checked and
    /// compares ids, so even bytes that passed it wrongly could make an order
    /// unknown, never answer with another's.
    init(validating stored: UnsafeRawBufferPointer) throws(CodecError) {
        guard stored.count >= 4 else { throw .truncated }
        let body = UnsafeRawBufferPointer(rebasing: stored[..<(stored.count - 4)])
        guard CRC32C.checksum(body) == stored.loadUnaligned(fromByteOffset: body.count, as: UInt32.self).littleEndian else {
            throw .malformed("closed orders checksum")
        }
        var r = ByteReader(body)
        _ = try r.nonNegativeInt()
        let count = try r.length()
        // An entry is at least 10 bytes and its pair 12: a damaged count cannot
        // ask for more than the bytes could hold.
        guard count <= r.remaining / 22 else { throw .malformed("closed orders count") }
        let entriesStart = r.offset
        let indexStart = body.count - count * Self.pairSize
        var previous: (hash: UInt64, offset: UInt32)?
        for i in 0..<count {
            let at = indexStart + i * Self.pairSize
            let pair = (hash: body.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian,
                        offset: body.loadUnaligned(fromByteOffset: at + 8, as: UInt32.self).littleEndian)
            guard Int(pair.offset) >= entriesStart, Int(pair.offset) < indexStart else { throw .malformed("closed orders index offset") }
            if let previous, !(previous < pair) { throw .malformed("closed orders index order") }
            previous = pair
        }
        bytes = Array(stored)
        self.count = count
        self.indexStart = indexStart
    }

    /// The hash the index is sorted by.
    static func hash(_ orderId: String) -> UInt64 {
        FNV1a64.hash(orderId)
    }

    /// The order closed as `orderId` in this generation, if any.
    func order(_ orderId: String) -> ClosedOrder? {
        let wanted = Self.hash(orderId)
        return bytes.withUnsafeBytes { raw -> ClosedOrder? in
            func hash(at i: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: indexStart + i * Self.pairSize, as: UInt64.self).littleEndian }
            var low = (0..<count).firstIndexNotBelow { hash(at: $0) < wanted }
            // Pairs of one hash are in offset order; an id closed twice in one
            // generation answers with its later entry, as the table form does.
            var found: ClosedOrder?
            while low < count && hash(at: low) == wanted {
                let offset = raw.loadUnaligned(fromByteOffset: indexStart + low * Self.pairSize + 8, as: UInt32.self).littleEndian
                var r = ByteReader(raw, offset: Int(offset))
                // Validated at init, so this decodes; a failure reads as not found.
                if let entry = try? r.closedOrder(), entry.orderId == orderId { found = entry.order }
                low += 1
            }
            return found
        }
    }

    /// Every entry, decoded, in closing order.
    func entries() -> [ClosedOrders.Entry] {
        bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw)
            // Checked at init (the checksum stands for the entries).
            _ = try? r.nonNegativeInt()
            _ = try? r.length()
            return (0..<count).compactMap { _ in try? r.closedOrder() }
        }
    }

    /// The stored form of `entries` as generation `number`.
    static func encode(_ entries: [ClosedOrders.Entry], number: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + 60 * entries.count)
        w.varint(UInt64(number))
        w.varint(UInt64(entries.count))
        var pairs: [(hash: UInt64, offset: UInt32)] = []
        pairs.reserveCapacity(entries.count)
        for e in entries {
            pairs.append((hash(e.orderId), UInt32(w.count)))
            w.closedOrder(e)
        }
        pairs.sort { $0 < $1 }
        for pair in pairs {
            w.u64le(pair.hash)
            w.u32le(pair.offset)
        }
        w.u32le(CRC32C.checksum(w.bytes))
        return w.bytes
    }
}
