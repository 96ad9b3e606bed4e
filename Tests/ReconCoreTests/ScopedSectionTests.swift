import Testing
@testable import ReconCore

/// A snapshot section keeps its latest complete list as reported and indexes it
/// at the first read: what it answers must not depend on when that happens.
@Suite struct ScopedSectionTests {
    static func order(_ id: String, _ symbol: String, remaining: ExactDecimal = 1) -> RemoteOrder {
        RemoteOrder(orderId: id, symbol: symbol, side: .buy, qty: 2, remaining: remaining, price: 10)
    }

    static func snapshot(_ orders: [RemoteOrder], symbols: [String]? = nil) -> Event {
        Event(id: "s", account: "a", tsMs: 1_000, body: .exchangeSnapshot(ExchangeSnapshot(openOrders: orders, symbols: symbols)))
    }

    @Test func aCompleteListReadsAsItsEntriesWithTheLastOfARepeatedKey() {
        var section = ScopedSection<RemoteOrder>()
        section.replace(with: SnapshotList([Self.order("o1", "BTC"), Self.order("o2", "ETH"), Self.order("o1", "BTC", remaining: "0.5")]),
                        scope: nil, seq: 7, asOfMs: 900)
        let items = section.items
        #expect(items.count == 2)
        #expect(items["o1"]?.item.remaining == "0.5", "a key listed twice keeps its last item")
        #expect(items["o2"] == ScopedSection.Entry(item: Self.order("o2", "ETH"), symbol: "ETH", seq: 7, asOfMs: 900))
        #expect(section.coverage(of: "SOL")?.seq == 7)
    }

    /// The finder (what a run's order and position checks read) answers as the
    /// entries do, for a complete list held as reported (a repeated key: its
    /// last item) and for entries a scoped list changed.
    @Test func theFinderAnswersAsTheEntriesDo() {
        func agree(_ section: ScopedSection<RemoteOrder>, _ probes: [String]) {
            let finder = section.finder
            let entries = section.items
            #expect(finder.count == entries.count)
            var seen: [String: ScopedSection<RemoteOrder>.Entry] = [:]
            finder.forEach { key, at in seen[key] = finder.entry(at: at) }
            #expect(seen == entries)
            for key in probes {
                #expect(finder.position(of: key).map(finder.entry(at:)) == entries[key], "\(key)")
                #expect(finder.position(of: key).map(finder.item(at:)) == entries[key]?.item, "\(key)")
                #expect(section.item(forKey: key) == entries[key]?.item, "\(key)")
            }
        }
        var section = ScopedSection<RemoteOrder>()
        section.replace(with: SnapshotList([Self.order("o1", "BTC"), Self.order("o2", "ETH"), Self.order("o1", "BTC", remaining: "0.5")]),
                        scope: nil, seq: 7, asOfMs: 900)
        agree(section, ["o1", "o2", "o3"])
        #expect(section.item(forKey: "o1")?.remaining == "0.5")
        section.replace(with: SnapshotList([Self.order("o3", "BTC"), Self.order("o4", "ETH")]), scope: ["BTC"], seq: 8, asOfMs: 950)
        agree(section, ["o1", "o2", "o3", "o4"])
        #expect(section.finder.position(of: "o2").map(section.finder.entry(at:))?.seq == 7)
        // A complete list longer than positions serve, read through its entries.
        let long = (0...ScopedSection<RemoteOrder>.Finder.positionsUpTo).map { Self.order("l\($0)", "SOL") } + [Self.order("l7", "SOL", remaining: "0.25")]
        section.replace(with: SnapshotList(long), scope: nil, seq: 9, asOfMs: 990)
        agree(section, ["l0", "l7", "l4096", "o1", "l99999"])
        #expect(section.item(forKey: "l7")?.remaining == "0.25")
    }

    /// Two sections that fold the same lists are equal whether or not either was
    /// read between them, and a copy read first does not change the other.
    @Test func equalityAndCopiesDoNotDependOnIndexing() {
        var a = ScopedSection<RemoteOrder>()
        var b = ScopedSection<RemoteOrder>()
        for (k, list) in [[Self.order("o1", "BTC")], [Self.order("o2", "ETH"), Self.order("o3", "BTC")]].enumerated() {
            a.replace(with: SnapshotList(list), scope: nil, seq: UInt64(k + 1), asOfMs: 0)
            _ = a.items
            b.replace(with: SnapshotList(list), scope: nil, seq: UInt64(k + 1), asOfMs: 0)
        }
        #expect(a == b)
        var copy = b
        #expect(copy.items.keys.sorted() == ["o2", "o3"])
        copy.replace(with: SnapshotList([]), scope: nil, seq: 3, asOfMs: 0)
        #expect(copy.items.isEmpty && b.items.count == 2)
        #expect(copy != b)
        // The same entries under another list's seq are another section.
        var c = ScopedSection<RemoteOrder>()
        c.replace(with: SnapshotList([Self.order("o2", "ETH"), Self.order("o3", "BTC")]), scope: nil, seq: 9, asOfMs: 0)
        #expect(c != b)
    }

    /// A scoped list after a complete one replaces only its symbols' entries;
    /// the complete list's others stay, with their own seq.
    @Test func aScopedListAfterACompleteOneReplacesItsSymbolsOnly() {
        var p = RemoteProjection()
        p.apply(Self.snapshot([Self.order("o1", "BTC"), Self.order("o2", "ETH")]), seq: 1)
        p.apply(Self.snapshot([Self.order("o3", "BTC"), Self.order("o4", "ETH")], symbols: ["BTC"]), seq: 2)
        let items = p.openOrders.items
        #expect(items.keys.sorted() == ["o2", "o3"], "o1 went with BTC's new list; o4 is outside the scope")
        #expect(items["o2"]?.seq == 1 && items["o3"]?.seq == 2)
        #expect(p.openOrders.coverage(of: "BTC")?.seq == 2 && p.openOrders.coverage(of: "ETH")?.seq == 1)
        // A complete list afterwards replaces everything again.
        p.apply(Self.snapshot([Self.order("o5", "SOL")]), seq: 3)
        #expect(p.openOrders.items.keys.sorted() == ["o5"])
        #expect(p.openOrders.coverage(of: "BTC")?.seq == 3)
    }

    /// The checkpoint codec writes the entries, indexed or not, to the same bytes.
    @Test func aProjectionEncodesTheSameBeforeAndAfterARead() throws {
        var p = AccountProjection(account: "a")
        p.apply(Self.snapshot([Self.order("o2", "ETH"), Self.order("o1", "BTC")]), seq: 1)
        let before = p.encoded()
        _ = p.remote.openOrders.items
        #expect(p.encoded() == before)
        let decoded = try before.withUnsafeBytes { try AccountProjection.decode($0) }
        #expect(decoded == p)
        #expect(decoded.remote.openOrders.items == p.remote.openOrders.items)
    }

    /// A key looked up in a list read from the log (walked as bytes while it is
    /// short) is the last item listed under it, as in the list the venue sent;
    /// a key it does not list is nothing, whichever way it is held.
    @Test(arguments: [3, 200, 300])
    func aKeyInAListReadFromTheLogIsItsLastItem(length: Int) throws {
        var rng = SeededRandom(seed: UInt64(length))
        let orders = (0..<length).map { n in
            Self.order("o\(rng.below(length / 2 + 1))", n % 2 == 0 ? "BTC" : "ETH", remaining: ExactDecimal(n))
        }
        let positions = (0..<length).map { n in
            RemotePosition(symbol: "S\(rng.below(length / 2 + 1))", qty: ExactDecimal(n), entryPrice: 10)
        }
        let event = Event(id: "s", account: "a", tsMs: 1, body: .exchangeSnapshot(ExchangeSnapshot(positions: positions, openOrders: orders)))
        let read = try EventCodec.encode(event).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try EventCodec.decode(&r)
        }
        var fromLog = AccountProjection(account: "a")
        fromLog.apply(read, seq: 1)
        var written = AccountProjection(account: "a")
        written.apply(event, seq: 1)
        for key in Set(orders.map(\.orderId)).union(["o-none", ""]) {
            let expected = orders.last { $0.orderId == key }
            #expect(fromLog.remote.openOrders.item(forKey: key) == expected, "order \(key)")
            #expect(written.remote.openOrders.item(forKey: key) == expected, "order \(key)")
        }
        for key in Set(positions.map(\.symbol)).union(["S-none"]) {
            let expected = positions.last { $0.symbol == key }
            #expect(fromLog.remote.positions.item(forKey: key) == expected, "position \(key)")
            #expect(written.remote.positions.item(forKey: key) == expected, "position \(key)")
        }
    }
}
