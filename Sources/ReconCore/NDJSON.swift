/// Splits NDJSON (or a JSON array of events) into decoded events.
public enum NDJSON {
    /// A line longer than this is rejected before it is parsed, so one bad line
    /// cannot make the decoder hold gigabytes.
    public static let defaultMaxLineBytes = 4 << 20

    /// Decodes every non-blank line; the first bad line throws with its number.
    ///
    /// `firstLine` numbers the lines of a chunk that continues an earlier one.
    public static func decode(_ bytes: UnsafeRawBufferPointer, firstLine: Int = 1,
                              maxLineBytes: Int = defaultMaxLineBytes) throws(EventInputError) -> [DecodedEvent] {
        var events: [DecodedEvent] = []
        try forEachLine(bytes, firstLine: firstLine, maxLineBytes: maxLineBytes) { (line, text) throws(EventInputError) in
            events.append(try Event.decode(line: line, text: text))
        }
        return events
    }

    /// Calls `body` with each non-blank line and its 1-based number.
    public static func forEachLine(_ bytes: UnsafeRawBufferPointer, firstLine: Int = 1, maxLineBytes: Int = defaultMaxLineBytes,
                                   _ body: (Int, UnsafeBufferPointer<UInt8>) throws(EventInputError) -> Void) throws(EventInputError) {
        let buffer = bytes.bindMemory(to: UInt8.self)
        var start = 0
        var line = firstLine
        let count = buffer.count
        while start < count {
            let end = ByteScan.firstIndex(of: 0x0A, in: buffer, from: start)
            var lineEnd = end
            if lineEnd > start && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd - start > maxLineBytes {
                throw EventInputError(line: line, field: nil, reason: "line is \(lineEnd - start) bytes, longer than the limit of \(maxLineBytes) bytes")
            }
            let slice = UnsafeBufferPointer(rebasing: buffer[start..<lineEnd])
            if !isBlank(slice) {
                try body(line, slice)
            }
            line += 1
            start = end + 1
        }
    }

    /// How many line ends (`\n`) the bytes hold.
    public static func newlineCount(_ bytes: UnsafeRawBufferPointer) -> Int {
        let buffer = bytes.bindMemory(to: UInt8.self)
        var count = 0
        var index = ByteScan.firstIndex(of: 0x0A, in: buffer, from: 0)
        while index < buffer.count {
            count += 1
            index = ByteScan.firstIndex(of: 0x0A, in: buffer, from: index + 1)
        }
        return count
    }

    /// Where the line after the one holding `offset` starts (just past its
    /// `\n`), or the end of the bytes.
    public static func nextLineStart(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Int {
        let buffer = bytes.bindMemory(to: UInt8.self)
        let end = ByteScan.firstIndex(of: 0x0A, in: buffer, from: offset)
        return end < buffer.count ? end + 1 : buffer.count
    }

    /// Decodes a body that is either a JSON array of events or NDJSON.
    public static func decodeBatch(_ bytes: UnsafeRawBufferPointer, maxLineBytes: Int = defaultMaxLineBytes) throws(EventInputError) -> [DecodedEvent] {
        let buffer = bytes.bindMemory(to: UInt8.self)
        var first = 0
        while first < buffer.count, buffer[first] == 0x20 || buffer[first] == 0x0A || buffer[first] == 0x0D || buffer[first] == 0x09 {
            first += 1
        }
        guard first < buffer.count, buffer[first] == UInt8(ascii: "[") else {
            return try decode(bytes, maxLineBytes: maxLineBytes)
        }
        let tape: JSONTape
        do {
            tape = try JSONTape(parsing: buffer)
        } catch {
            throw EventInputError(line: 0, field: nil, reason: error.description)
        }
        guard tape.tokens[0].kind == .array else { throw EventInputError(line: 0, field: nil, reason: "expected a JSON array") }
        let count = tape.count(0)
        var events: [DecodedEvent] = []
        events.reserveCapacity(count)
        // In an array, "line" is the event's 1-based position.
        var item = tape.firstItem(of: 0)
        for index in 0..<count {
            events.append(try Event.decode(line: index + 1, tape: tape, token: item))
            item = tape.nextItem(after: item)
        }
        return events
    }

    private static func isBlank(_ slice: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in slice where byte != 0x20 && byte != 0x09 { return false }
        return true
    }
}
