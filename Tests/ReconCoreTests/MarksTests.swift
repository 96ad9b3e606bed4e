import Testing
@testable import ReconCore

@Suite struct MarksTests {
    /// Marks folded from prices lists are each symbol's last listed mark and its
    /// seq, whether a list repeats the last one's symbols (it replaces the last
    /// list whole) or not (the last one is written out first): the same symbols
    /// reordered, one more or one fewer, a symbol listed twice, an empty list,
    /// lists without prices, and copies of the projection taken between lists,
    /// which must not see later marks. Lists come both as the log's decoder
    /// gives them (bytes) and as built in memory; one symbol's mark read alone
    /// is the same as read from all of them, and a projection given only the
    /// lists in memory is equal to one given both kinds.
    @Test func marksAreTheLastListedMarkOfEachSymbol() throws {
        var random = SeededRandom(seed: 21)
        let symbols = (0..<12).map { "S\($0)-PERP" }
        var listed = Array(symbols.prefix(8))
        var remote = RemoteProjection()
        var inMemory = RemoteProjection()
        var expected: [String: MarkState] = [:]
        var copies: [(RemoteProjection, [String: MarkState])] = []
        var encodedLists = 0
        for seq in UInt64(1)...3_000 {
            switch random.below(10) {
            case 0: listed.shuffle(using: &random)
            case 1: listed = Array(symbols.shuffled(using: &random).prefix(1 + random.below(symbols.count)))
            case 2: listed.append(listed[random.below(listed.count)])
            case 3: listed = []
            case 4: listed = Array(symbols.prefix(8))
            default: break
            }
            let withPrices = random.below(8) != 0
            let prices = listed.map { MarkPrice(symbol: $0, mark: ExactDecimal(significand: Int128(random.below(1_000_000)), scale: 2)) }
            let event = Event(id: "e\(seq)", account: "a", tsMs: Int64(seq), body: .exchangeSnapshot(ExchangeSnapshot(equity: 1, prices: withPrices ? prices : nil)))
            let decoded = try Self.throughTheCodec(event)
            if case .exchangeSnapshot(let read) = decoded.body, read.priceList?.isEncoded == true { encodedLists += 1 }
            remote.apply(random.below(2) == 0 ? decoded : event, seq: seq)
            inMemory.apply(event, seq: seq)
            if withPrices {
                for price in prices { expected[price.symbol] = MarkState(mark: price.mark, seq: seq) }
            }
            #expect(remote.marks == expected, "after seq \(seq)")
            for symbol in symbols + ["S99-PERP"] {
                #expect(remote.mark(of: symbol) == expected[symbol], "\(symbol) after seq \(seq)")
            }
            #expect(remote == inMemory, "after seq \(seq)")
            if seq % 300 == 0 { copies.append((remote, expected)) }
            if listed.isEmpty { listed = Array(symbols.prefix(3)) }
        }
        for (copy, marks) in copies { #expect(copy.marks == marks) }
        #expect(encodedLists > 1_000)
    }

    static func throughTheCodec(_ event: Event) throws -> Event {
        try EventCodec.encode(event).withUnsafeBytes { raw in
            var r = ByteReader(raw)
            return try EventCodec.decode(&r)
        }
    }
}
