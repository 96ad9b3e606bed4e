/// Bad input: the line, the field, and what was wrong, in words a user can act on.
public struct EventInputError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line (or array position) of the offending event; 0 when unknown.
    public var line: Int
    /// The field path (`qty`, `positions[2].entry_price`), nil for whole-line faults.
    public var field: String?
    public var reason: String

    public init(line: Int, field: String?, reason: String) {
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "line \(line): field \"\(field)\": \(reason)" }
        return "line \(line): \(reason)"
    }
}

/// Limits on what an event may hold, so a hostile line cannot exhaust memory.
public enum EventLimits {
    /// Ids, accounts, symbols, assets: at most this many characters.
    public static let maxNameLength = 128
    /// Free text (`reason`, `requested_by`): at most this many characters.
    public static let maxTextLength = 1024
    /// Lists inside one event (snapshot orders, window fills).
    public static let maxListCount = 1_000_000
}

/// An event decoded from input, with the `ingest_ms` it carried when it is an
/// export of another log (`recon events` output).
public struct DecodedEvent: Sendable, Equatable {
    public var event: Event
    public var ingestMs: Int64?
    /// The 1-based input line (or array position) it came from.
    public var line: Int
}

extension Event {
    /// Decodes one NDJSON line.
    public static func decode(line: Int, text: UnsafeBufferPointer<UInt8>) throws(EventInputError) -> DecodedEvent {
        let tape: JSONTape
        do {
            tape = try JSONTape(parsing: text)
        } catch {
            throw EventInputError(line: line, field: nil, reason: error.description)
        }
        return try decode(line: line, tape: tape, token: 0)
    }

    /// Decodes the event at `token` of a parsed document (a line, or an item of
    /// a JSON array).
    public static func decode(line: Int, tape: JSONTape, token: Int) throws(EventInputError) -> DecodedEvent {
        guard tape.tokens[token].kind == .object else {
            throw EventInputError(line: line, field: nil, reason: "expected a JSON object, got \(tape.summary(token))")
        }
        var fields = FieldReader(tape: tape, object: token, path: "", line: line)
        let typeName = try fields.string("type")
        guard let type = EventType(name: typeName) else {
            let known = EventType.allCases.map(\.name).joined(separator: ", ")
            throw EventInputError(line: line, field: "type", reason: "unknown event type \"\(typeName.prefix(64))\" (known: \(known))")
        }
        let id = try fields.name("id")
        let account = try fields.name("account")
        let tsMs = try fields.timestamp("ts_ms")
        let venue = try fields.optionalName("venue")
        // Present in exports; the log assigns its own seq on append.
        _ = try fields.optionalInt("seq")
        let ingestMs = try fields.optionalInt("ingest_ms")
        let body = try decodeBody(type, &fields)
        try fields.rejectUnknownFields(context: typeName)
        return DecodedEvent(event: Event(id: id, account: account, tsMs: tsMs, venue: venue, body: body), ingestMs: ingestMs, line: line)
    }

    private static func decodeBody(_ type: EventType, _ f: inout FieldReader) throws(EventInputError) -> EventBody {
        switch type {
        case .instrument:
            return .instrument(Instrument(
                symbol: try f.name("symbol"), kind: try f.enumeration("kind"), base: try f.name("base"),
                quote: try f.name("quote"), contractSize: try f.optionalPositiveDecimal("contract_size") ?? 1))
        case .orderSubmitted:
            let order = OrderSubmitted(
                orderId: try f.name("order_id"), symbol: try f.name("symbol"), side: try f.enumeration("side"),
                qty: try f.positiveDecimal("qty"), price: try f.optionalPositiveDecimal("price"),
                orderType: try f.enumeration("order_type"), postOnly: try f.optionalBool("post_only") ?? false,
                reduceOnly: try f.optionalBool("reduce_only") ?? false)
            if order.orderType == .limit && order.price == nil {
                throw f.error("price", "a limit order needs a price")
            }
            return .orderSubmitted(order)
        case .orderCanceled:
            return .orderCanceled(OrderCanceled(orderId: try f.name("order_id")))
        case .orderRejected:
            return .orderRejected(OrderRejected(orderId: try f.name("order_id"), reason: try f.text("reason")))
        case .fill:
            return .fill(try decodeFill(&f, venueRecord: false))
        case .transfer:
            return .transfer(Transfer(asset: try f.name("asset"), amount: try f.decimal("amount"), kind: try f.enumeration("kind")))
        case .exchangeSnapshot:
            return .exchangeSnapshot(ExchangeSnapshot(
                positions: try f.optionalList("positions") { (p: inout FieldReader) throws(EventInputError) in
                    RemotePosition(symbol: try p.name("symbol"), qty: try p.decimal("qty"), entryPrice: try p.nonNegativeDecimal("entry_price"))
                },
                openOrders: try f.optionalList("open_orders") { (o: inout FieldReader) throws(EventInputError) in
                    RemoteOrder(orderId: try o.name("order_id"), symbol: try o.name("symbol"), side: try o.enumeration("side"),
                                qty: try o.positiveDecimal("qty"), remaining: try o.nonNegativeDecimal("remaining"),
                                price: try o.optionalPositiveDecimal("price"))
                },
                balances: try f.optionalList("balances") { (b: inout FieldReader) throws(EventInputError) in
                    RemoteBalance(asset: try b.name("asset"), total: try b.decimal("total"))
                },
                equity: try f.optionalDecimal("equity"),
                prices: try f.optionalList("prices") { (m: inout FieldReader) throws(EventInputError) in
                    MarkPrice(symbol: try m.name("symbol"), mark: try m.positiveDecimal("mark"))
                },
                symbols: try f.optionalNameList("symbols")))
        case .exchangeFills:
            let from = try f.timestamp("from_ms")
            let to = try f.timestamp("to_ms")
            if to < from { throw f.error("to_ms", "the window ends (\(to)) before it starts (\(from))") }
            let fills = try f.list("fills") { (x: inout FieldReader) throws(EventInputError) in try decodeFill(&x, venueRecord: true) }
            return .exchangeFills(ExchangeFills(fromMs: from, toMs: to, fills: fills))
        case .exchangePositionHistory:
            let from = try f.timestamp("from_ms")
            let to = try f.timestamp("to_ms")
            if to < from { throw f.error("to_ms", "the window ends (\(to)) before it starts (\(from))") }
            let positions = try f.list("positions") { (p: inout FieldReader) throws(EventInputError) in
                ClosedPositionRecord(
                    positionId: try p.name("position_id"), symbol: try p.name("symbol"), side: try p.enumeration("side"),
                    qty: try p.positiveDecimal("qty"), entryPrice: try p.nonNegativeDecimal("entry_price"),
                    entryTsMs: try p.timestamp("entry_ts_ms"), closePrice: try p.nonNegativeDecimal("close_price"),
                    closeTsMs: try p.timestamp("close_ts_ms"), realizedPnl: try p.decimal("realized_pnl"),
                    commission: try p.decimal("commission"), netPnl: try p.decimal("net_pnl"))
            }
            return .exchangePositionHistory(ExchangePositionHistory(fromMs: from, toMs: to, positions: positions))
        case .reconRequested:
            return .reconRequested(ReconRequested(requestedBy: try f.text("requested_by")))
        case .correction:
            let key = try f.text("key")
            let sourceRunId = try f.name("source_run_id")
            let approvedBy = try f.name("approved_by")
            var effects: [CorrectionEffect] = []
            if let fill = try f.optionalObject("fill", { (x: inout FieldReader) throws(EventInputError) in try decodeFill(&x, venueRecord: true) }) {
                effects.append(.fill(fill))
            }
            if let adjustment = try f.optionalObject("position_adjustment", { (p: inout FieldReader) throws(EventInputError) in
                CorrectionEffect.positionAdjustment(symbol: try p.name("symbol"), qtyDelta: try p.decimal("qty_delta"),
                                                    price: try p.nonNegativeDecimal("price"))
            }) {
                effects.append(adjustment)
            }
            if let adjustment = try f.optionalObject("balance_adjustment", { (b: inout FieldReader) throws(EventInputError) in
                CorrectionEffect.balanceAdjustment(asset: try b.name("asset"), amount: try b.decimal("amount"))
            }) {
                effects.append(adjustment)
            }
            guard effects.count == 1 else {
                throw f.error(nil, "a correction needs exactly one of fill, position_adjustment, balance_adjustment (found \(effects.count))")
            }
            return .correction(Correction(key: key, sourceRunId: sourceRunId, approvedBy: approvedBy, effect: effects[0]))
        }
    }

    /// A bot's fill needs a fee; a venue record may leave it unknown (null).
    private static func decodeFill(_ f: inout FieldReader, venueRecord: Bool) throws(EventInputError) -> FillRecord {
        let fillId = try f.name("fill_id")
        let orderId = try f.name("order_id")
        let symbol = try f.name("symbol")
        let side: Side = try f.enumeration("side")
        let qty = try f.positiveDecimal("qty")
        let price = try f.nonNegativeDecimal("price")
        let fee = venueRecord ? try f.optionalDecimal("fee") : try f.decimal("fee")
        let feeAsset = venueRecord ? try f.optionalName("fee_asset") : try f.name("fee_asset")
        if fee != nil && feeAsset == nil { throw f.error("fee_asset", "required when fee is given") }
        let liquidity: Liquidity = try f.enumeration("liquidity")
        let tsMs = venueRecord ? try f.timestamp("ts_ms") : nil
        return FillRecord(fillId: fillId, orderId: orderId, symbol: symbol, side: side, qty: qty, price: price,
                          fee: fee, feeAsset: feeAsset, liquidity: liquidity, tsMs: tsMs)
    }
}

/// Reads typed fields from one JSON object of a tape, naming the field in every
/// error and remembering which it consumed so that unknown fields can be rejected.
struct FieldReader {
    let tape: JSONTape
    /// The object's token.
    let object: Int
    /// The object's path, or its list's path when it is entry `index` of a list.
    private let basePath: String
    private let index: Int?
    let line: Int
    /// Bit i set: field i was read. Objects with more than 64 fields are rejected.
    private var consumedMask: UInt64 = 0
    /// Where the search for the next field starts (its key token and ordinal):
    /// just after the last one found.
    private var cursorKey: Int
    private var cursorOrdinal = 0

    init(tape: JSONTape, object: Int, path: String, line: Int) {
        self.tape = tape
        self.object = object
        basePath = path
        index = nil
        self.line = line
        cursorKey = tape.firstField(of: object)
    }

    /// A reader of entry `index` of the list at `listPath`. The entry's path is
    /// spelled out only for an error: formatting it for every entry of every
    /// snapshot was a tenth of decoding one.
    init(tape: JSONTape, object: Int, listPath: String, index: Int, line: Int) {
        self.tape = tape
        self.object = object
        basePath = listPath
        self.index = index
        self.line = line
        cursorKey = tape.firstField(of: object)
    }

    /// `positions[2]`, `fill`, or empty for the event itself.
    var path: String { index.map { "\(basePath)[\($0)]" } ?? basePath }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String?, _ reason: String) -> EventInputError {
        EventInputError(line: line, field: key.map(fieldPath) ?? (path.isEmpty ? nil : path), reason: reason)
    }

    /// Finds a field and returns its value's token, searching from the one after
    /// the last found and wrapping. Decoders read fields in the order writers
    /// write them, so the first key compared is almost always the one asked for.
    private mutating func take(_ key: String) -> Int? {
        let count = tape.count(object)
        guard count > 0 else { return nil }
        var keyToken = cursorKey
        var ordinal = cursorOrdinal
        for _ in 0..<count {
            let here = keyToken, hereOrdinal = ordinal
            // On to the next field, wrapping after the last.
            ordinal += 1
            keyToken = tape.nextField(after: keyToken)
            if ordinal == count {
                ordinal = 0
                keyToken = tape.firstField(of: object)
            }
            if tape.stringEquals(here, key) {
                if hereOrdinal < 64 { consumedMask |= 1 << UInt64(hereOrdinal) }
                cursorKey = keyToken
                cursorOrdinal = ordinal
                return here + 1
            }
        }
        return nil
    }

    private func kind(_ token: Int) -> JSONTape.Kind { tape.tokens[token].kind }

    /// The value's token, or nil when the field is absent or null.
    private mutating func takeUnlessNull(_ key: String) -> Int? {
        guard let value = take(key), kind(value) != .null else { return nil }
        return value
    }

    private mutating func required(_ key: String) throws(EventInputError) -> Int {
        guard let value = take(key) else { throw error(key, "is required") }
        return value
    }

    /// Names the first field (in source order) that no reader asked for.
    mutating func rejectUnknownFields(context: String) throws(EventInputError) {
        let count = tape.count(object)
        if count > 64 { throw error(nil, "more than 64 fields") }
        var key = tape.firstField(of: object)
        for ordinal in 0..<count {
            if consumedMask & (1 << UInt64(ordinal)) == 0 {
                throw error(tape.string(at: key), "unknown field for \(context)")
            }
            key = tape.nextField(after: key)
        }
    }

    // MARK: strings

    mutating func string(_ key: String) throws(EventInputError) -> String {
        let value = try required(key)
        return try toString(value, key)
    }

    private func toString(_ value: Int, _ key: String) throws(EventInputError) -> String {
        guard kind(value) == .string else { throw error(key, "expected a string, got \(tape.summary(value))") }
        return tape.string(at: value)
    }

    /// An identifier-like string: 1…128 characters, no control characters.
    mutating func name(_ key: String) throws(EventInputError) -> String {
        let s = try string(key)
        try checkName(s, key)
        return s
    }

    private func checkName(_ s: String, _ key: String) throws(EventInputError) {
        let bytes = s.utf8.count
        if bytes == 0 { throw error(key, "must not be empty") }
        // Counting characters walks grapheme clusters; a name of at most that many
        // bytes has at most that many characters, so only longer ones are counted.
        if bytes > EventLimits.maxNameLength && (bytes > EventLimits.maxNameLength * 4 || s.count > EventLimits.maxNameLength) {
            throw error(key, "longer than \(EventLimits.maxNameLength) characters")
        }
        var copy = s
        let hasControl = copy.withUTF8 { utf8 in utf8.contains { $0 < 0x20 || $0 == 0x7F } }
        if hasControl { throw error(key, "contains a control character") }
    }

    mutating func optionalName(_ key: String) throws(EventInputError) -> String? {
        guard let value = takeUnlessNull(key) else { return nil }
        let s = try toString(value, key)
        try checkName(s, key)
        return s
    }

    /// Free text: 1…1024 characters.
    mutating func text(_ key: String) throws(EventInputError) -> String {
        let s = try string(key)
        if s.isEmpty { throw error(key, "must not be empty") }
        if s.count > EventLimits.maxTextLength { throw error(key, "longer than \(EventLimits.maxTextLength) characters") }
        return s
    }

    // MARK: numbers

    mutating func decimal(_ key: String) throws(EventInputError) -> ExactDecimal {
        let value = try required(key)
        return try toDecimal(value, key)
    }

    mutating func optionalDecimal(_ key: String) throws(EventInputError) -> ExactDecimal? {
        guard let value = takeUnlessNull(key) else { return nil }
        return try toDecimal(value, key)
    }

    mutating func positiveDecimal(_ key: String) throws(EventInputError) -> ExactDecimal {
        let d = try decimal(key)
        if !d.isPositive { throw error(key, "must be greater than 0, got \(d)") }
        return d
    }

    mutating func nonNegativeDecimal(_ key: String) throws(EventInputError) -> ExactDecimal {
        let d = try decimal(key)
        if d.isNegative { throw error(key, "must not be negative, got \(d)") }
        return d
    }

    mutating func optionalPositiveDecimal(_ key: String) throws(EventInputError) -> ExactDecimal? {
        guard let d = try optionalDecimal(key) else { return nil }
        if !d.isPositive { throw error(key, "must be greater than 0, got \(d)") }
        return d
    }

    /// A decimal string, or a JSON number (which may have an exponent), parsed
    /// from its bytes where they lie.
    private func toDecimal(_ value: Int, _ key: String) throws(EventInputError) -> ExactDecimal {
        let allowExponent: Bool
        switch kind(value) {
        case .string: allowExponent = false
        case .number: allowExponent = true
        default: throw error(key, "expected a decimal string, got \(tape.summary(value))")
        }
        let parsed = tape.withText(value) { bytes in
            Result { () throws(ExactDecimal.ParseError) in try ExactDecimal.parse(bytes, allowExponent: allowExponent) }
        }
        switch parsed {
        case .success(let decimal):
            return decimal
        case .failure(let failure):
            let text = tape.string(at: value)
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            throw error(key, "\(failure) (got \"\(shown)\")")
        }
    }

    mutating func timestamp(_ key: String) throws(EventInputError) -> Int64 {
        let value = try required(key)
        let n = try toInt(value, key)
        if n < 0 { throw error(key, "must not be negative, got \(n)") }
        return n
    }

    mutating func optionalInt(_ key: String) throws(EventInputError) -> Int64? {
        guard let value = takeUnlessNull(key) else { return nil }
        return try toInt(value, key)
    }

    private func toInt(_ value: Int, _ key: String) throws(EventInputError) -> Int64 {
        guard kind(value) == .number else {
            throw error(key, "expected an integer, got \(tape.summary(value))")
        }
        let text = tape.string(at: value)
        guard let n = Int64(text) else { throw error(key, "expected an integer in 64-bit range, got \(text.prefix(40))") }
        return n
    }

    mutating func optionalBool(_ key: String) throws(EventInputError) -> Bool? {
        guard let value = takeUnlessNull(key) else { return nil }
        switch kind(value) {
        case .true: return true
        case .false: return false
        default: throw error(key, "expected true or false, got \(tape.summary(value))")
        }
    }

    mutating func enumeration<E: RawRepresentable>(_ key: String) throws(EventInputError) -> E
    where E: CaseIterable, E.RawValue == String {
        let s = try string(key)
        guard let value = E(rawValue: s) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
            throw error(key, "expected \(allowed), got \"\(s.prefix(40))\"")
        }
        return value
    }

    // MARK: nested

    mutating func list<T>(_ key: String, _ element: (inout FieldReader) throws(EventInputError) -> T) throws(EventInputError) -> [T] {
        guard let items = try optionalList(key, element) else { throw error(key, "is required") }
        return items
    }

    mutating func optionalList<T>(_ key: String, _ element: (inout FieldReader) throws(EventInputError) -> T) throws(EventInputError) -> [T]? {
        guard let value = takeUnlessNull(key) else { return nil }
        guard kind(value) == .array else { throw error(key, "expected an array, got \(tape.summary(value))") }
        let count = tape.count(value)
        if count > EventLimits.maxListCount { throw error(key, "more than \(EventLimits.maxListCount) entries") }
        var result: [T] = []
        result.reserveCapacity(count)
        let listPath = fieldPath(key)
        var item = tape.firstItem(of: value)
        for index in 0..<count {
            guard kind(item) == .object else {
                throw EventInputError(line: line, field: "\(listPath)[\(index)]", reason: "expected an object, got \(tape.summary(item))")
            }
            var reader = FieldReader(tape: tape, object: item, listPath: listPath, index: index, line: line)
            result.append(try element(&reader))
            try reader.rejectUnknownFields(context: "this entry")
            item = tape.nextItem(after: item)
        }
        return result
    }

    mutating func optionalObject<T>(_ key: String, _ body: (inout FieldReader) throws(EventInputError) -> T) throws(EventInputError) -> T? {
        guard let value = takeUnlessNull(key) else { return nil }
        guard kind(value) == .object else { throw error(key, "expected an object, got \(tape.summary(value))") }
        var reader = FieldReader(tape: tape, object: value, path: fieldPath(key), line: line)
        let result = try body(&reader)
        try reader.rejectUnknownFields(context: "this object")
        return result
    }

    mutating func optionalNameList(_ key: String) throws(EventInputError) -> [String]? {
        guard let value = takeUnlessNull(key) else { return nil }
        guard kind(value) == .array else { throw error(key, "expected an array of strings, got \(tape.summary(value))") }
        var names: [String] = []
        var item = tape.firstItem(of: value)
        for index in 0..<tape.count(value) {
            let s = kind(item) == .string ? tape.string(at: item) : ""
            guard !s.isEmpty, s.count <= EventLimits.maxNameLength else {
                throw EventInputError(line: line, field: "\(fieldPath(key))[\(index)]", reason: "expected a symbol string, got \(tape.summary(item))")
            }
            names.append(s)
            item = tape.nextItem(after: item)
        }
        return names
    }
}
