import Testing
@testable import ReconCore

/// The bounded memory of closed orders: which ones a projection still knows after
/// many closings, and that a checkpoint keeps exactly that.
@Suite struct ClosedOrdersTests {
    static let g = ClosedOrders.generationSize

    static func closed(_ i: Int) -> ClosedOrder {
        ClosedOrder(status: i % 3 == 0 ? .filled : .canceled, symbol: "S\(i % 7)", qty: 1, filled: 0, closedSeq: UInt64(i + 1), closedTsMs: Int64(i))
    }

    /// After n closings the window is the last n - r plus, once r > 0, the G
    /// before them, where r is the start of the generation being filled.
    @Test(arguments: [1, g - 1, g, g + 1, 2 * g, 2 * g + 1, 5 * g / 2])
    func remembersTheLastGenerationAndTheOneBefore(n: Int) {
        var orders = ClosedOrders()
        for i in 0..<n { orders.insert("o\(i)", Self.closed(i)) }
        let recentStart = (n - 1) / Self.g * Self.g
        let firstKept = max(0, recentStart - Self.g)
        #expect(orders.count == n - firstKept)
        #expect(orders.count <= 2 * Self.g)
        #expect(orders.count >= min(n, Self.g))
        for i in stride(from: 0, to: n, by: 97) + [firstKept, n - 1] + (firstKept > 0 ? [firstKept - 1] : []) {
            #expect((orders["o\(i)"] != nil) == (i >= firstKept), "order \(i) of \(n)")
        }
        #expect(orders["o\(n - 1)"] == Self.closed(n - 1))
        let (older, recent) = orders.generations
        #expect((older + recent).map(\.orderId) == (firstKept..<n).map { "o\($0)" })
    }

    /// A change is a copy appended to the recent generation, which shadows the
    /// entry before, whichever generation that is in: entries once written never
    /// change. The rotation counts orders, so the copies do not hasten it.
    @Test func entriesAreOnlyAppended() {
        var orders = ClosedOrders()
        for i in 0..<(Self.g + 10) { orders.insert("o\(i)", Self.closed(i)) }
        let olderBefore = orders.generations.older
        let recentBefore = orders.generations.recent
        #expect(orders.update("o3") { $0.filled = 5 })
        #expect(orders.update("o\(Self.g + 4)") { $0.filled = 7 })
        #expect(orders.update("o\(Self.g + 4)") { $0.filled += 1 })
        #expect(!orders.update("never") { $0.filled = 9 })
        #expect(orders["o3"]?.filled == 5)
        #expect(orders["o\(Self.g + 4)"]?.filled == 8)
        let (older, recent) = orders.generations
        #expect(older == olderBefore)
        #expect(Array(recent.prefix(10)) == recentBefore, "the entries before stay as written")
        #expect(recent.dropFirst(10).map(\.orderId) == ["o3", "o\(Self.g + 4)", "o\(Self.g + 4)"])
        #expect(recent.dropFirst(10).map(\.order.filled) == [5, 7, 8])
        // 11 orders in the recent generation (o3's copy among them), 13 entries:
        // it rotates after g orders, not g entries.
        for i in 0..<(Self.g - 11) { orders.insert("n\(i)", Self.closed(i)) }
        #expect(orders.rotations == 1)
        orders.insert("last", Self.closed(1))
        #expect(orders.rotations == 2)
        #expect(orders["o\(Self.g + 4)"]?.filled == 8, "the latest copy went into the older generation")
        #expect(orders["o3"]?.filled == 5)
    }

    /// The table of where each id lies is made again as it grows, from the
    /// entries in order: an id changed before that still answers with its latest
    /// copy, and one entry per id is counted towards the rotation.
    @Test func aChangedOrderKeepsItsLatestCopyAcrossGrowth() {
        var orders = ClosedOrders()
        for i in 0..<10 { orders.insert("o\(i)", Self.closed(i)) }
        #expect(orders.update("o3") { $0.filled = 5 })
        #expect(orders.update("o3") { $0.filled += 1 })
        for i in 10..<5_000 { orders.insert("o\(i)", Self.closed(i)) }
        #expect(orders["o3"]?.filled == 6)
        #expect(orders["o4"] == Self.closed(4))
        #expect(orders["o4999"] == Self.closed(4_999))
        #expect(orders["o5000"] == nil)
        #expect(orders.count == 5_002)
        for i in 5_000..<Self.g { orders.insert("o\(i)", Self.closed(i)) }
        #expect(orders.rotations == 0, "g orders, g + 2 entries: not rotated yet")
        orders.insert("next", Self.closed(0))
        #expect(orders.rotations == 1)
        #expect(orders["o3"]?.filled == 6)
    }

    /// A checkpoint that keeps closed orders apart decodes without them, and with
    /// the older generation (of the same number) and the recent one's additions
    /// attached equals the projection it came from.
    @Test func closedOrdersStoredApart() throws {
        var p = AccountProjection(account: "bot1")
        var recentDeltas: [[UInt8]] = []
        for i in 0..<(2 * Self.g + 5) {
            p.apply(cancel("o\(i)", seq: i + 1), seq: UInt64(i + 1))
            // As groups would store them: one in the first generation, two in the third.
            if i == Self.g / 2 { recentDeltas.append(p.local.closedOrders.encodedRecent(from: 0)) }
            if i == 2 * Self.g + 1 { recentDeltas.append(p.local.closedOrders.encodedRecent(from: 0)) }
        }
        recentDeltas.append(p.local.closedOrders.encodedRecent(from: 2))
        let closed = p.local.closedOrders
        #expect(closed.rotations == 2 && closed.recentEntries.count == 5)
        let apart = p.encoded(historyApart: true)
        #expect(apart.count < p.encoded().count / 10)
        var decoded = try apart.withUnsafeBytes { try AccountProjection.decode($0) }
        #expect(decoded.local.closedOrders.olderStoredApart)
        #expect(decoded.local.closedOrders.recentStoredApart == 5)
        #expect(decoded.local.closedOrders["o\(Self.g)"] == nil, "missing until attached")
        #expect(decoded.local.closedOrders["o\(2 * Self.g + 4)"] == nil, "missing until attached")
        #expect(decoded.encoded() == apart, "a projection without its closed orders encodes without them")
        // Another generation's bytes are refused.
        var other = ClosedOrders()
        for i in 0..<(Self.g + 1) { other.insert("x\(i)", Self.closed(i)) }
        #expect(throws: CodecError.self) { try other.encodedOlder().withUnsafeBytes { try decoded.local.closedOrders.attachOlder(encoded: $0) } }
        try closed.encodedOlder().withUnsafeBytes { try decoded.local.closedOrders.attachOlder(encoded: $0) }
        // Additions that do not follow on or do not add up are refused.
        func attach(_ deltas: [[UInt8]]) throws(CodecError) -> ClosedOrders {
            var orders = decoded.local.closedOrders
            let raw = deltas.map { bytes in
                let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
                copy.copyBytes(from: bytes)
                return UnsafeRawBufferPointer(copy)
            }
            defer { raw.forEach { $0.deallocate() } }
            try orders.attachRecent(encoded: raw)
            return orders
        }
        #expect(throws: CodecError.self) { try attach([recentDeltas[0], recentDeltas[2]]) }
        #expect(throws: CodecError.self) { try attach([recentDeltas[0], recentDeltas[1]]) }
        #expect(throws: CodecError.self) { try attach([recentDeltas[1], recentDeltas[1], recentDeltas[2]]) }
        decoded.local.closedOrders = try attach(recentDeltas)
        #expect(decoded == p)
        #expect(decoded.encoded() == p.encoded())
        // Without closings there is nothing to keep apart.
        let young = AccountProjection(account: "bot1")
        #expect(young.encoded(historyApart: true) == young.encoded())
    }

    /// An older generation attached from its stored bytes answers every id as the
    /// generation it was written from: each id's latest entry (one id closed twice
    /// in it included), nil for ids it lacks; its entries and bytes are the same.
    @Test func aStoredGenerationAnswersAsItsTable() throws {
        var orders = ClosedOrders()
        func id(_ i: Int) -> String { i % 5 == 0 ? "order-ü-\(i)-with-a-longer-identifier" : "o\(i)" }
        for i in 0..<Self.g {
            orders.insert(id(i), Self.closed(i))
            if i == 777 { orders.insert(id(3), Self.closed(99_999)) }
        }
        orders.insert("recent-only", Self.closed(1))
        let older = orders.generations.older
        #expect(older.count == Self.g + 1 && orders.rotations == 1, "g orders, one of them twice")
        let bytes = orders.encodedOlder()
        let stored = try bytes.withUnsafeBytes { try StoredGeneration(validating: $0) }
        var latest: [String: ClosedOrder] = [:]
        for e in older { latest[e.orderId] = e.order }
        for (orderId, order) in latest { #expect(stored.order(orderId) == order, "\(orderId)") }
        #expect(stored.order(id(3)) == Self.closed(99_999), "the later entry of an id closed twice")
        for absent in ["recent-only", "o", "", "o\(Self.g)", "order-ü-5-with-a-longer-identifie"] { #expect(stored.order(absent) == nil, "\(absent)") }
        #expect(stored.entries() == older)
        #expect(StoredGeneration.encode(older, number: 1) == bytes)
        #expect(stored.count == older.count)
    }

    /// Damage to a stored generation is refused when it is attached (its
    /// checksum); an index that passes it yet is wrong (a writer's bug, not the
    /// disk's: the checksum made again over it) is refused when its offsets or
    /// order are off, and a changed hash can make an order unknown but never
    /// answers with another's.
    @Test func aDamagedStoredGenerationIsRefusedOrNeverWrong() throws {
        var orders = ClosedOrders()
        for i in 0..<(Self.g + 1) { orders.insert("o\(i)", Self.closed(i)) }
        let bytes = orders.encodedOlder()
        let indexStart = bytes.count - 4 - Self.g * StoredGeneration.pairSize
        var rng = SeededRandom(seed: 5)
        for trial in 0..<300 {
            var damaged = bytes
            damaged[rng.below(bytes.count)] ^= UInt8(1 + rng.below(255))
            #expect(throws: CodecError.self, "trial \(trial)") { try damaged.withUnsafeBytes { try StoredGeneration(validating: $0) } }
        }
        var refused = 0
        for trial in 0..<300 {
            var damaged = Array(bytes.dropLast(4))
            damaged[indexStart + rng.below(damaged.count - indexStart)] ^= UInt8(1 + rng.below(255))
            var w = ByteWriter(capacity: 4)
            w.u32le(CRC32C.checksum(damaged))
            damaged += w.bytes
            guard let g = try? damaged.withUnsafeBytes({ try StoredGeneration(validating: $0) }) else { refused += 1; continue }
            for i in stride(from: 0, to: Self.g, by: 37) {
                let answer = g.order("o\(i)")
                #expect(answer == nil || answer == Self.closed(i), "trial \(trial): o\(i)")
            }
        }
        #expect(refused > 50, "offsets and order are checked: \(refused) of 300 refused")
        #expect(throws: CodecError.self) { try bytes.dropLast().withUnsafeBytes { try StoredGeneration(validating: $0) } }
        #expect(throws: CodecError.self) { try (bytes + [0]).withUnsafeBytes { try StoredGeneration(validating: $0) } }
    }

    func cancel(_ id: String, seq: Int) -> Event {
        Event(id: "c\(seq)", account: "bot1", tsMs: Int64(seq), body: .orderCanceled(OrderCanceled(orderId: id)))
    }

    func fill(_ orderId: String, seq: Int) -> Event {
        Event(id: "f\(seq)", account: "bot1", tsMs: Int64(seq), body: .fill(FillRecord(
            fillId: "fill-\(seq)", orderId: orderId, symbol: "BTC-PERP", side: .buy, qty: "0.1", price: "100", fee: "0.01",
            feeAsset: "USDT", liquidity: .maker)))
    }

    /// A late fill is judged against its order while the order is remembered
    /// (`fill_after_cancel`), and reads as unknown once it is not.
    @Test(arguments: [(Self.g - 1, IntegrityFinding.Kind.fillAfterCancel), (2 * Self.g, IntegrityFinding.Kind.fillUnknownOrder)])
    func lateFillAfterOtherClosings(others: Int, expected: IntegrityFinding.Kind) {
        var p = LocalProjection()
        var seq = 0
        func apply(_ e: Event) { seq += 1; p.apply(e, seq: UInt64(seq)) }
        // A cancel that overtook its order closes it at once: one event per closing.
        apply(cancel("target", seq: seq + 1))
        for i in 0..<others { apply(cancel("other\(i)", seq: seq + 1)) }
        apply(fill("target", seq: seq + 1))
        #expect(p.findings.map(\.kind) == [expected])
    }

    /// A projection written to a checkpoint mid-way and read back goes on exactly
    /// as the one that was not: same closed orders, same bytes, after rotations on
    /// both sides of the checkpoint.
    @Test func aCheckpointKeepsTheWindowAcrossRotations() throws {
        var straight = AccountProjection(account: "bot1")
        var resumed = AccountProjection(account: "bot1")
        let total = 5 * Self.g / 2
        for i in 0..<total {
            let event = i % 50 == 49 ? fill("o\(i - 30_001)", seq: i + 1) : cancel("o\(i)", seq: i + 1)
            straight.apply(event, seq: UInt64(i + 1))
            resumed.apply(event, seq: UInt64(i + 1))
            if i == Self.g + 123 || i == 2 * Self.g - 1 {
                resumed = try resumed.encoded().withUnsafeBytes { try AccountProjection.decode($0) }
                #expect(resumed == straight)
            }
        }
        #expect(resumed == straight)
        #expect(resumed.encoded() == straight.encoded())
        #expect(straight.local.closedOrders.rotations == 2)
        #expect(Set(straight.local.findings.map(\.kind)) == [.fillAfterCancel, .fillUnknownOrder])
    }
}
