/// One JSON document as a flat list of tokens over its bytes: the grammar of
/// every JSON input Recon reads.
///
/// Events are decoded from the tape directly: a field name is compared as bytes
/// where it lies, a decimal is parsed from its bytes, and a string becomes a
/// `String` only when a decoder asks for it. Building a `JSONValue` tree first
/// made a `String` of every key and number and an array of every object; the tape
/// made decoding an event about 1.3 times as fast. ``JSONReader`` builds the tree from a tape for
/// readers that want one (config files).
///
/// Valid for as long as the bytes it was parsed from.
public struct JSONTape {
    public enum Kind: UInt8, Sendable {
        case null, `false`, `true`, number, string, array, object
    }

    /// A value; an array's items and an object's fields (key, then value) follow
    /// it in order, and `next` is the token after all of them. Offsets are kept in
    /// 32 bits (20 bytes a token; documents are limited to 2 GiB), so a body of
    /// small numbers takes less memory as tokens than it did as a tree.
    public struct Token {
        public var kind: Kind
        private var start32: Int32
        private var end32: Int32
        private var next32: Int32
        private var count32: Int32

        init(kind: Kind, start: Int, end: Int, next: Int, count: Int) {
            self.kind = kind
            start32 = Int32(truncatingIfNeeded: start)
            end32 = Int32(truncatingIfNeeded: end)
            next32 = Int32(truncatingIfNeeded: next)
            count32 = Int32(truncatingIfNeeded: count)
        }

        /// A string's content (between the quotes) or a number's text.
        var start: Int { Int(start32) }
        var end: Int { Int(end32) }
        public var next: Int {
            get { Int(next32) }
            set { next32 = Int32(truncatingIfNeeded: newValue) }
        }
        /// An array's items or an object's fields; for a string with escapes, the
        /// index of its decoded text in `unescaped`, else -1.
        var count: Int {
            get { Int(count32) }
            set { count32 = Int32(truncatingIfNeeded: newValue) }
        }
    }

    /// The largest document a tape holds (its offsets are 32-bit).
    public static let maxBytes = Int(Int32.max) - 1

    public private(set) var tokens: [Token] = []
    /// Strings that held escapes, decoded while parsing.
    private var unescaped: [String] = []
    private let bytes: UnsafeBufferPointer<UInt8>

    /// Parses exactly one value; trailing non-space bytes are an error.
    public init(parsing bytes: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) {
        guard bytes.count <= Self.maxBytes else {
            throw JSONSyntaxError(offset: 0, message: "document is \(bytes.count) bytes, larger than \(Self.maxBytes)")
        }
        self.bytes = bytes
        var parser = Parser(bytes)
        parser.skipSpace()
        try parser.parseValue(depth: 0)
        parser.skipSpace()
        if parser.index != bytes.count { throw parser.error("unexpected text after the value") }
        tokens = parser.tokens
        unescaped = parser.unescaped
    }

    // MARK: reading

    /// The first field's key token of the object at `object`.
    @inline(__always) public func firstField(of object: Int) -> Int { object + 1 }

    /// The key token of the field after the one whose key token is `key`.
    @inline(__always) public func nextField(after key: Int) -> Int { tokens[key + 1].next }

    /// The first item of the array at `array`; `nextItem` walks on.
    @inline(__always) public func firstItem(of array: Int) -> Int { array + 1 }
    @inline(__always) public func nextItem(after item: Int) -> Int { tokens[item].next }

    public func count(_ token: Int) -> Int { tokens[token].count }

    /// The text of a string token (decoded), or of a number token.
    public func string(at token: Int) -> String {
        let t = tokens[token]
        if t.count >= 0 { return unescaped[t.count] }
        // Checked as UTF-8 while parsing.
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[t.start..<t.end]), as: UTF8.self)
    }

    /// Whether a string token's text is `text`, compared where it lies.
    public func stringEquals(_ token: Int, _ text: String) -> Bool {
        let t = tokens[token]
        if t.count >= 0 { return unescaped[t.count] == text }
        var text = text
        return text.withUTF8 { utf8 in
            guard utf8.count == t.end - t.start else { return false }
            let here = bytes.baseAddress! + t.start
            for k in 0..<utf8.count where utf8[k] != here[k] { return false }
            return true
        }
    }

    /// Calls `body` with a string's UTF-8 or a number's text.
    public func withText<R>(_ token: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let t = tokens[token]
        if t.kind == .string && t.count >= 0 {
            var text = unescaped[t.count]
            return text.withUTF8(body)
        }
        return body(UnsafeBufferPointer(rebasing: bytes[t.start..<t.end]))
    }

    /// A short name of the value's kind and a glimpse of it, for error messages
    /// (`JSONValue.summary`; only ever on an error, so the tree is no cost).
    public func summary(_ token: Int) -> String {
        value(at: token).summary
    }

    /// The value at `token` as a tree.
    public func value(at token: Int) -> JSONValue {
        let t = tokens[token]
        switch t.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number: return .number(string(at: token))
        case .string: return .string(string(at: token))
        case .array:
            var items: [JSONValue] = []
            items.reserveCapacity(t.count)
            var item = firstItem(of: token)
            for _ in 0..<t.count {
                items.append(value(at: item))
                item = nextItem(after: item)
            }
            return .array(items)
        case .object:
            var entries: [(key: String, value: JSONValue)] = []
            entries.reserveCapacity(t.count)
            var key = firstField(of: token)
            for _ in 0..<t.count {
                entries.append((string(at: key), value(at: key + 1)))
                key = nextField(after: key)
            }
            return .object(JSONObject(entries))
        }
    }
}

/// The grammar: one pass over the bytes, appending tokens.
private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var tokens: [JSONTape.Token] = []
    var unescaped: [String] = []
    /// A fingerprint of each key of the objects being parsed, with its key token
    /// (a stack: a nested object's keys go on top and come off when it ends). A
    /// new key is compared in full only with keys of the same fingerprint (see
    /// `print`).
    private var keyPrints: [(print: UInt64, token: Int)] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // About one token per eight bytes of an event line; capped, so a large
        // body does not reserve memory for tokens it may not hold.
        tokens.reserveCapacity(min(max(16, bytes.count / 8), 4_096))
    }

    func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, message: message)
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func append(_ kind: JSONTape.Kind, start: Int, end: Int, count: Int = -1) {
        tokens.append(JSONTape.Token(kind: kind, start: start, end: end, next: tokens.count + 1, count: count))
    }

    mutating func parseValue(depth: Int) throws(JSONSyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            guard depth < JSONReader.maxDepth else { throw error("nested deeper than \(JSONReader.maxDepth)") }
            try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            guard depth < JSONReader.maxDepth else { throw error("nested deeper than \(JSONReader.maxDepth)") }
            try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            try parseString()
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            append(.true, start: index - 4, end: index)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            append(.false, start: index - 5, end: index)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            append(.null, start: index - 4, end: index)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            skipNumberText()
            append(.number, start: start, end: index)
        case UInt8(ascii: "N"), UInt8(ascii: "I"):
            throw error("NaN and Infinity are not JSON")
        default:
            throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let base = literal.utf8Start
        for k in 0..<count where bytes[index + k] != base[k] {
            throw error("invalid literal")
        }
        index += count
    }

    /// A number's text is any run of the characters numbers are made of; the
    /// reader of the value (a decimal, an integer) judges its form.
    private mutating func skipNumberText() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                 UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                index += 1
            default:
                return
            }
        }
    }

    /// Appends a string token; a string with escapes is decoded here (and kept),
    /// one with non-ASCII bytes is checked as UTF-8 here.
    private mutating func parseString() throws(JSONSyntaxError) {
        index += 1  // opening quote
        let start = index
        var high: UInt8 = 0
        // Fast path: no escapes. Whole words of plain ASCII first, then bytes.
        index = ByteScan.skipPlainText(bytes, from: index)
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                // ASCII needs no validation.
                if high >= 0x80 && String(validating: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self) == nil {
                    throw error("invalid UTF-8 in string")
                }
                append(.string, start: start, end: index)
                index += 1
                return
            }
            high |= byte
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in string") }
            index += 1
        }
        var scalars = [UInt8](UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard let text = String(validating: scalars, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                append(.string, start: start, end: index, count: unescaped.count)
                unescaped.append(text)
                index += 1
                return
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte != UInt8(ascii: "\\") {
                scalars.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): scalars.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): scalars.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): scalars.append(0x08)
            case UInt8(ascii: "f"): scalars.append(0x0C)
            case UInt8(ascii: "n"): scalars.append(0x0A)
            case UInt8(ascii: "r"): scalars.append(0x0D)
            case UInt8(ascii: "t"): scalars.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code) {
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in string")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("unpaired surrogate in string") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(code) {
                    throw error("unpaired surrogate in string")
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw error("invalid escape in string")
            }
        }
        throw error("unterminated string")
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw error("invalid \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) {
        guard let token = open(.array, closer: UInt8(ascii: "]")) else { return }
        var count = 0
        while true {
            skipSpace()
            try parseValue(depth: depth)
            count += 1
            if try endOfItem(token, count: count, closer: UInt8(ascii: "]"), in: "array") { return }
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) {
        guard let token = open(.object, closer: UInt8(ascii: "}")) else { return }
        let printsBase = keyPrints.count
        defer { keyPrints.removeSubrange(printsBase...) }
        var count = 0
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a field name") }
            let keyOffset = index
            let key = tokens.count
            try parseString()
            let print = keyPrint(key)
            for k in printsBase..<keyPrints.count where keyPrints[k].print == print && sameKey(keyPrints[k].token, key) {
                throw JSONSyntaxError(offset: keyOffset, message: "field \"\(keyText(key))\" appears twice")
            }
            keyPrints.append((print, key))
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after field name") }
            index += 1
            skipSpace()
            try parseValue(depth: depth)
            count += 1
            if try endOfItem(token, count: count, closer: UInt8(ascii: "}"), in: "object") { return }
        }
    }

    /// Appends an array's or object's token at its opening bracket and steps in;
    /// nil when the closing bracket follows at once (an empty one, complete).
    private mutating func open(_ kind: JSONTape.Kind, closer: UInt8) -> Int? {
        let token = tokens.count
        append(kind, start: index, end: index, count: 0)
        index += 1
        skipSpace()
        if index < bytes.count && bytes[index] == closer {
            index += 1
            return nil
        }
        return token
    }

    /// After an array's item or an object's field: false past a comma, true past
    /// the closing bracket (the container's token then gets its count and end).
    private mutating func endOfItem(_ token: Int, count: Int, closer: UInt8, in container: String) throws(JSONSyntaxError) -> Bool {
        skipSpace()
        guard index < bytes.count else { throw error("unterminated \(container)") }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            return false
        }
        guard bytes[index] == closer else {
            throw error("expected ',' or '\(Character(Unicode.Scalar(closer)))' in \(container)")
        }
        index += 1
        tokens[token].count = count
        tokens[token].next = tokens.count
        return true
    }

    // Keys are compared by their decoded bytes, so `"a"` and `"\u0061"` are the same field.

    /// Calls `body` with a key's decoded UTF-8 bytes.
    private func withKeyBytes<R>(_ key: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let t = tokens[key]
        if t.count >= 0 {
            var text = unescaped[t.count]
            return text.withUTF8 { body(UnsafeRawBufferPointer($0)) }
        }
        return body(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[t.start..<t.end])))
    }

    private func keyText(_ key: Int) -> String {
        withKeyBytes(key) { String(decoding: $0, as: UTF8.self) }
    }

    private func keyPrint(_ key: Int) -> UInt64 {
        withKeyBytes(key, Self.print)
    }

    /// A fingerprint of a key from its length and its first and last eight bytes:
    /// equal prints are compared in full, so it need only tell most keys apart,
    /// and a hash of every byte was a tenth of decoding an event.
    private static func print(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let n = key.count
        var head: UInt64 = 0, tail: UInt64 = 0
        if n >= 8 {
            head = key.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            tail = key.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else {
            for k in 0..<n { head = head << 8 | UInt64(key[k]) }
        }
        return (head &* 0x9E37_79B9_7F4A_7C15) ^ (tail &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(n)
    }

    /// Keys are the same field when their decoded UTF-8 bytes are equal.
    private func sameKey(_ a: Int, _ b: Int) -> Bool {
        withKeyBytes(a) { l in withKeyBytes(b) { r in l.elementsEqual(r) } }
    }
}
