import Testing
import ReconCore
@testable import ReconStore

/// A record decoded into memory in place (as a reader's chunk is filled) reads
/// as the record decoded by value, and a record that fails leaves the memory
/// uninitialized: nothing to free, nothing half made.
@Suite struct RecordDecodeInPlaceTests {
    static func record(_ content: [UInt8], ingestMs: Int64 = 1_763_000_000_000) -> [UInt8] {
        var w = ByteWriter()
        content.withUnsafeBytes {
            LogRecord.write(content: $0, lists: SnapshotListLengths.measure($0), chain: 0x1234_5678, ingestMs: ingestMs, into: &w)
        }
        return w.bytes
    }

    /// Decodes `bytes` as seq 7 in place, the event moved out on success.
    static func decodeInPlace(_ bytes: [UInt8]) throws -> LoggedEvent {
        try bytes.withUnsafeBytes { raw in
            try movedOut { (memory) throws(StoreError) in
                try LogRecord.decode(raw, header: try LogRecord.header(raw, seq: 7), seq: 7, into: memory)
            }
        }
    }

    @Test func everyKindOfEventReadsAsDecodedByValue() throws {
        let events = RandomEvents.sample(seed: 5, count: 2_000)
        #expect(Set(events.map(\.type)).count == EventType.allCases.count, "the sample holds every type")
        for event in events {
            let bytes = Self.record(EventCodec.encode(event))
            let byValue = try bytes.withUnsafeBytes { try LogRecord.decode($0, seq: 7) }
            let inPlace = try Self.decodeInPlace(bytes)
            #expect(inPlace == byValue)
            #expect(inPlace == LoggedEvent(seq: 7, ingestMs: 1_763_000_000_000, event: event))
        }
    }

    /// A body that decodes with bytes left over, and one cut short: both refused
    /// as damage of that seq, by either way of decoding.
    @Test func aRecordThatDoesNotDecodeIsRefused() throws {
        let event = Event(id: "e1", account: "acct1", tsMs: 1, venue: "simex", body: .fill(FillRecord(
            fillId: "f1", orderId: "o1", symbol: "BTC-PERP", side: .buy, qty: 1, price: 100, fee: 1, feeAsset: "USDT", liquidity: .taker)))
        let content = EventCodec.encode(event)
        for (name, bad) in [("trailing byte", content + [0]), ("cut short", Array(content.dropLast(3)))] {
            let bytes = Self.record(bad)
            for way in ["in place", "by value"] {
                do {
                    _ = way == "in place" ? try Self.decodeInPlace(bytes) : try bytes.withUnsafeBytes { try LogRecord.decode($0, seq: 7) }
                    Issue.record("\(name), \(way): decoded")
                } catch let error as StoreError {
                    #expect(error.kind == .corrupt, "\(name), \(way)")
                    #expect(error.description.contains("seq 7"), "\(name), \(way): \(error)")
                }
            }
        }
    }

    /// The decoder writes each stored field of an event in place; a field added
    /// to `Event` or `LoggedEvent` must be written there too (`EventFields`), and
    /// fails here until it is.
    @Test func theDecoderKnowsEveryStoredField() {
        let event = RandomEvents.sample(seed: 1, count: 1)[0]
        #expect(Mirror(reflecting: event).children.map(\.label) == ["id", "account", "tsMs", "venue", "body"])
        #expect(Mirror(reflecting: LoggedEvent(seq: 1, ingestMs: 1, event: event)).children.map(\.label) == ["seq", "ingestMs", "event"])
    }
}
