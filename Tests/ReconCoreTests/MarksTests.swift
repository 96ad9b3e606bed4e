import Testing
@testable import ReconCore

@Suite struct MarksTests {
    /// Marks folded from prices lists are each symbol's last listed mark and its
    /// seq, whether a list repeats the last one's symbols (written through the
    /// slots kept from it) or not: the same symbols reordered, one more or one
    /// fewer, a symbol listed twice, an empty list, lists without prices, and
    /// copies of the projection taken between lists, which must not see later
    /// marks.
    @Test func marksAreTheLastListedMarkOfEachSymbol() {
        var random = SeededRandom(seed: 21)
        let symbols = (0..<12).map { "S\($0)-PERP" }
        var listed = Array(symbols.prefix(8))
        var remote = RemoteProjection()
        var expected: [String: MarkState] = [:]
        var copies: [(RemoteProjection, [String: MarkState])] = []
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
            let snapshot = ExchangeSnapshot(equity: 1, prices: withPrices ? prices : nil)
            remote.apply(Event(id: "e\(seq)", account: "a", tsMs: Int64(seq), body: .exchangeSnapshot(snapshot)), seq: seq)
            if withPrices {
                for price in prices { expected[price.symbol] = MarkState(mark: price.mark, seq: seq) }
            }
            #expect(remote.marks == expected, "after seq \(seq)")
            if seq % 300 == 0 { copies.append((remote, expected)) }
            if listed.isEmpty { listed = Array(symbols.prefix(3)) }
        }
        for (copy, marks) in copies { #expect(copy.marks == marks) }
    }
}
