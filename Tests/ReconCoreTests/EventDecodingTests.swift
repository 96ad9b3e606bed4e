import Testing
@testable import ReconCore

@Suite struct EventDecodingTests {
    func decode(_ line: String, number: Int = 1) throws(EventInputError) -> DecodedEvent {
        var text = line
        let result = text.withUTF8 { bytes in Result { () throws(EventInputError) in try Event.decode(line: number, text: bytes) } }
        return try result.get()
    }

    func message(_ line: String) -> String {
        do {
            _ = try decode(line, number: 7)
            return "no error"
        } catch {
            return error.description
        }
    }

    let fill = #"{"type":"fill","id":"e1","account":"bot1","ts_ms":1763000000000,"fill_id":"f1","order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"0.01","price":"65000.5","fee":"-0.1625","fee_asset":"USDT","liquidity":"maker"}"#

    @Test func decodesAFill() throws {
        let decoded = try decode(fill)
        guard case .fill(let f) = decoded.event.body else {
            Issue.record("not a fill")
            return
        }
        #expect(f.qty == "0.01")
        #expect(f.fee == "-0.1625")
        #expect(decoded.event.account == "bot1")
    }

    @Test func numbersAreParsedExactlyFromTheirText() throws {
        let decoded = try decode(fill.replacingOccurrences(of: #""qty":"0.01""#, with: #""qty":0.1"#))
        guard case .fill(let f) = decoded.event.body else { return }
        #expect(f.qty.description == "0.1")
        #expect(f.qty.significand == 1 && f.qty.scale == 1)
    }

    @Test(arguments: [
        (#"{"type":"fill","id":"e1","account":"bot1","ts_ms":1,"fill_id":"f1","order_id":"o1","symbol":"S","side":"buy","qty":true,"price":"1","fee":"0","fee_asset":"U","liquidity":"maker"}"#,
         #"line 7: field "qty": expected a decimal string, got true"#),
        (#"{"type":"transfer","id":"e","ts_ms":1,"asset":"USDT","amount":"1","kind":"deposit"}"#,
         #"line 7: field "account": is required"#),
        (#"{"type":"teleport","id":"e","account":"a","ts_ms":1}"#,
         #"line 7: field "type": unknown event type "teleport""#),
        (#"{"type":"transfer","id":"e","account":"a","ts_ms":1,"asset":"USDT","amount":"NaN","kind":"deposit"}"#,
         #"line 7: field "amount": NaN and Infinity are not numbers"#),
        (#"{"type":"transfer","id":"e","account":"a","ts_ms":1,"asset":"USDT","amount":1e400,"kind":"deposit"}"#,
         #"line 7: field "amount": more than 20 integer digits"#),
        (#"{"type":"transfer","id":"e","account":"a","ts_ms":1,"asset":"USDT","amount":"1","kind":"gift"}"#,
         #"line 7: field "kind": expected "deposit" or "withdrawal" or "funding" or "adjustment", got "gift""#),
        (#"{"type":"transfer","id":"e","account":"a","ts_ms":1,"asset":"USDT","amount":"1","kind":"deposit","colour":"red"}"#,
         #"line 7: field "colour": unknown field for transfer"#),
        (#"{"type":"exchange_snapshot","id":"e","account":"a","ts_ms":1,"positions":[{"symbol":"X","qty":"1","entry_price":"x"}]}"#,
         #"line 7: field "positions[0].entry_price": not a decimal number"#),
        (#"{"type":"order_submitted","id":"e","account":"a","ts_ms":1,"order_id":"o","symbol":"S","side":"buy","qty":"1","order_type":"limit"}"#,
         #"line 7: field "price": a limit order needs a price"#),
        (#"{"type":"transfer","id":"","account":"a","ts_ms":1,"asset":"USDT","amount":"1","kind":"deposit"}"#,
         #"line 7: field "id": must not be empty"#),
        (#"{"type":"transfer","id":"e","account":"a","ts_ms":"1","asset":"USDT","amount":"1","kind":"deposit"}"#,
         #"line 7: field "ts_ms": expected an integer, got string"#),
        (#"{"type":"transfer","id":"e","account":"a","ts_ms":1,"asset":"USDT","amount":"1","kind":"deposit""#,
         #"line 7: invalid JSON"#),
        (#"[1,2]"#, #"line 7: expected a JSON object, got an array"#),
    ])
    func badInputNamesLineFieldAndReason(line: String, expected: String) {
        #expect(message(line).hasPrefix(expected), "got: \(message(line))")
    }

    /// Non-ASCII text is kept exactly; bytes that are not UTF-8 are rejected, never repaired.
    @Test func stringsAreValidUTF8() throws {
        let accented = fill.replacing(#""account":"bot1""#, with: #""account":"bót-✓""#)
        #expect(try decode(accented).event.account == "bót-✓")
        for bad: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80]] {
            var bytes = Array(fill.utf8)
            // Inside the account's value: `"account":"` is followed by `bot1`.
            let at = Array(fill.utf8).firstRange(of: Array(#""account":""#.utf8))!.upperBound
            bytes.insert(contentsOf: bad, at: at)
            let result = bytes.withUnsafeBufferPointer { buffer in
                Result { () throws(EventInputError) in try Event.decode(line: 3, text: buffer) }
            }
            #expect(throws: EventInputError.self, "\(bad)") { try result.get() }
            if case .failure(let error) = result { #expect(error.description.contains("UTF-8"), "\(error)") }
        }
    }

    @Test func idLongerThan128CharactersIsRejected() {
        let id = String(repeating: "x", count: 129)
        let line = #"{"type":"transfer","id":"\#(id)","account":"a","ts_ms":1,"asset":"USDT","amount":"1","kind":"deposit"}"#
        #expect(message(line).contains("longer than 128 characters"))
    }

    @Test func overlongLineIsRejectedBeforeParsing() {
        let big = Array(repeating: UInt8(ascii: "x"), count: 2_000)
        #expect(throws: EventInputError.self) {
            try big.withUnsafeBytes { try NDJSON.decode($0, maxLineBytes: 1_000) }
        }
    }

    @Test func ndjsonAndArrayBatchesDecodeAlike() throws {
        let ndjson = Array((fill + "\n\n" + fill.replacingOccurrences(of: #""id":"e1""#, with: #""id":"e2""#) + "\n").utf8)
        let array = Array(("[" + fill + "," + fill.replacingOccurrences(of: #""id":"e1""#, with: #""id":"e2""#) + "]").utf8)
        let a = try ndjson.withUnsafeBytes { try NDJSON.decodeBatch($0) }
        let b = try array.withUnsafeBytes { try NDJSON.decodeBatch($0) }
        #expect(a.map(\.event) == b.map(\.event))
        #expect(a.map(\.line) == [1, 3])
    }

    /// Every generated event survives JSON output and decoding unchanged.
    @Test func jsonRoundTripOfGeneratedEvents() throws {
        for event in RandomEvents.sample(seed: 3, count: 400) {
            let text = String(decoding: event.jsonObject(), as: UTF8.self)
            let back = try decode(text)
            #expect(back.event == event, "\(text)")
        }
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

