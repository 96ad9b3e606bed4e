import Testing
@testable import ReconCore

/// The JSON grammar (`JSONTape`): the tree built from it, escapes, repeated keys
/// compared by their decoded text, and syntax errors with their byte.
@Suite struct JSONTapeTests {
    func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try JSONReader.parse(text)
    }

    func syntaxError(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func treeKeepsOrderNumberTextAndDecodedStrings() throws {
        let value = try parse(#" {"b":[1,-0.10,1e-3,[],{}],"a":{"x":null,"y":true,"z":false},"s":"caf\u00e9 \ud83d\ude00\n\"q\"","t":"plain"} "#)
        let expected: JSONValue = .object(JSONObject([
            ("b", .array([.number("1"), .number("-0.10"), .number("1e-3"), .array([]), .object(JSONObject())])),
            ("a", .object(JSONObject([("x", .null), ("y", .bool(true)), ("z", .bool(false))]))),
            ("s", .string("café 😀\n\"q\"")),
            ("t", .string("plain")),
        ]))
        #expect(value == expected)
    }

    @Test func tokensSkipWholeValues() throws {
        var text = #"[{"a":[1,2,{"b":3}]},"x",[[]],4]"#
        let tape = try text.withUTF8 { try JSONTape(parsing: $0) }
        #expect(tape.tokens[0].kind == .array && tape.count(0) == 4)
        var item = tape.firstItem(of: 0)
        var kinds: [JSONTape.Kind] = []
        for _ in 0..<4 {
            kinds.append(tape.tokens[item].kind)
            item = tape.nextItem(after: item)
        }
        #expect(kinds == [.object, .string, .array, .number])
        #expect(item == tape.tokens.count)
    }

    @Test func keysAreComparedByTheirDecodedText() {
        // The second key is "a" written with an escape: the same field.
        #expect(syntaxError(#"{"a":1,"\u0061":2}"#) == #"invalid JSON at byte 8: field "a" appears twice"#)
        #expect(syntaxError(#"{"a":{"a":1},"b":{"a":2}}"#) == nil)
        #expect(syntaxError(#"{"a":1,"b":{"c":1,"c":2}}"#) == #"invalid JSON at byte 19: field "c" appears twice"#)
    }

    @Test func syntaxErrorsNameTheirByte() {
        let cases: [(String, String)] = [
            (#"{"a":}"#, "invalid JSON at byte 6: unexpected character '}'"),
            (#"{"a" 1}"#, "invalid JSON at byte 6: expected ':' after field name"),
            (#"{"a":1"#, "invalid JSON at byte 7: unterminated object"),
            (#"[1 2]"#, "invalid JSON at byte 4: expected ',' or ']' in array"),
            (#"{"a":"x"#, "invalid JSON at byte 8: unterminated string"),
            (#"{"a":"\q"}"#, "invalid JSON at byte 9: invalid escape in string"),
            (#"{"a":"\ud800x"}"#, "invalid JSON at byte 13: unpaired surrogate in string"),
            (#"{"a":NaN}"#, "invalid JSON at byte 6: NaN and Infinity are not JSON"),
            (#"{"a":tru}"#, "invalid JSON at byte 6: invalid literal"),
            (#"{"a":1} x"#, "invalid JSON at byte 9: unexpected text after the value"),
            ("", "invalid JSON at byte 1: unexpected end of input"),
            (String(repeating: "[", count: 40), "invalid JSON at byte 33: nested deeper than 32"),
        ]
        for (text, message) in cases {
            #expect(syntaxError(text) == message, "\(text)")
        }
    }

    @Test func invalidUTF8InAStringIsASyntaxError() throws {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let error = bytes.withUnsafeBufferPointer { buffer -> JSONSyntaxError? in
            do throws(JSONSyntaxError) {
                _ = try JSONTape(parsing: buffer)
                return nil
            } catch {
                return error
            }
        }
        #expect(error?.message == "invalid UTF-8 in string")
    }

    @Test func eventsDecodeEscapedNamesAndValues() throws {
        var text = #"{"type":"transfer","\u0069d":"t\u002d1","account":"bot1","ts_ms":5,"asset":"USDT","amount":"1.50","kind":"deposit"}"#
        let decoded = try text.withUTF8 { try Event.decode(line: 1, text: $0) }
        #expect(decoded.event.id == "t-1")
        guard case .transfer(let transfer) = decoded.event.body else { Issue.record("not a transfer"); return }
        #expect(transfer.amount == "1.5")
    }
}
