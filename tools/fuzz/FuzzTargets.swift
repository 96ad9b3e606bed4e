// libFuzzer entry points for Recon's input decoders, compiled together with
// Sources/ReconCore by tools/fuzz/run (never by `swift build`).
//
// One binary, three targets, chosen by RECON_FUZZ_TARGET:
//   ndjson  NDJSON / JSON-array event decoding (`recon append`, the HTTP ingest body)
//   codec   the binary event codec, the checkpoint codec and settled-fill deltas
//           (bytes read back from LMDB; first byte even: an event; odd: a checkpoint,
//           or a delta when its bit 1 is set)
//   config  the configuration parser
// Each also checks a round trip: what decodes must encode and decode to the same
// value, so the fuzzer finds wrong answers as well as crashes.
//
// With RECON_FUZZ_WRITE_SEEDS=DIR (and RECON_FUZZ_FIXTURES=fixtures), the binary
// writes seed corpora built from the fixtures into DIR/<target>/ and exits.
#if canImport(Glibc)
import Glibc
#endif

enum FuzzTarget: String {
    case ndjson, codec, config
}

nonisolated(unsafe) var target = FuzzTarget.ndjson

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    if let seeds = getenv("RECON_FUZZ_WRITE_SEEDS") {
        let fixtures = getenv("RECON_FUZZ_FIXTURES").map { String(cString: $0) } ?? "fixtures"
        writeSeeds(into: String(cString: seeds), fixtures: fixtures)
        exit(0)
    }
    guard let name = getenv("RECON_FUZZ_TARGET"), let chosen = FuzzTarget(rawValue: String(cString: name)) else {
        complain("set RECON_FUZZ_TARGET to ndjson, codec or config")
        exit(2)
    }
    target = chosen
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    switch target {
    case .ndjson: fuzzNDJSON(bytes)
    case .codec: fuzzCodec(bytes)
    case .config: fuzzConfig(bytes)
    }
    return 0
}

func fuzzNDJSON(_ bytes: UnsafeRawBufferPointer) {
    guard let decoded = try? NDJSON.decodeBatch(bytes, maxLineBytes: 1 << 16) else { return }
    for item in decoded {
        // Canonical output reads back as the same event…
        let line = item.event.jsonObject()
        let again = line.withUnsafeBufferPointer { try? Event.decode(line: 1, text: $0) }
        precondition(again?.event == item.event, "JSON round trip changed an event: \(String(decoding: line, as: UTF8.self))")
        // …and so does the stored form.
        let stored = EventCodec.encode(item.event)
        let back = stored.withUnsafeBytes { raw -> Event? in
            var reader = ByteReader(raw)
            return try? EventCodec.decode(&reader)
        }
        precondition(back == item.event, "codec round trip changed an event")
    }
}

func fuzzCodec(_ bytes: UnsafeRawBufferPointer) {
    guard let selector = bytes.first else { return }
    let rest = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
    if selector & 1 == 0 {
        var reader = ByteReader(rest)
        guard let event = try? EventCodec.decode(&reader) else { return }
        let encoded = EventCodec.encode(event)
        let back = encoded.withUnsafeBytes { raw -> Event? in
            var again = ByteReader(raw)
            return try? EventCodec.decode(&again)
        }
        precondition(back == event, "re-encoded event decodes differently")
    } else if selector & 2 == 0 {
        guard let projection = try? AccountProjection.decode(rest) else { return }
        let encoded = projection.encoded()
        let back = encoded.withUnsafeBytes { try? AccountProjection.decode($0) }
        precondition(back == projection, "re-encoded checkpoint decodes differently")
    } else {
        // A checkpoint group's settled-fills delta.
        var settled = SettledFills()
        guard let total = try? settled.merge(delta: rest) else { return }
        let encoded = settled.encodedDelta(since: 0)
        var back = SettledFills()
        let backTotal = encoded.withUnsafeBytes { try? back.merge(delta: $0) }
        precondition(back == settled && backTotal == settled.count, "re-encoded settled fills decode differently (stored total \(total))")
    }
}

func fuzzConfig(_ bytes: UnsafeRawBufferPointer) {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let config = try? ReconConfig.parse(text) else { return }
    _ = config.hash
}

// MARK: Seeds

func complain(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    guard let file = fopen(path, "wb") else { complain("cannot write \(path)"); exit(1) }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
}

func fixtureNames(_ fixtures: String) -> [String] {
    guard let dir = opendir(fixtures) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if !name.hasPrefix(".") { names.append(name) }
    }
    return names.sorted()
}

func writeSeeds(into root: String, fixtures: String) {
    for t in ["ndjson", "codec", "config"] { mkdir(root, 0o755); mkdir(root + "/" + t, 0o755) }
    var count = 0
    var events: [Event] = RandomEvents.sample(seed: 1, count: 200)
    for name in fixtureNames(fixtures) {
        if let config = readFile("\(fixtures)/\(name)/config.json") {
            writeFile("\(root)/config/\(name).json", config)
            count += 1
        }
        guard let file = readFile("\(fixtures)/\(name)/events.ndjson") else { continue }
        let decoded = (try? file.withUnsafeBytes { try NDJSON.decode($0) }) ?? []
        events += decoded.map(\.event)
        // The first lines of each fixture as one NDJSON seed (small inputs fuzz faster).
        let lines = file.split(separator: 0x0A, omittingEmptySubsequences: true).prefix(8)
        writeFile("\(root)/ndjson/\(name).ndjson", Array(lines.joined(separator: [0x0A])))
        count += 1
    }
    // One seed per event type and shape: canonical JSON, and the stored form.
    var seen = Set<String>()
    for (index, event) in events.enumerated() {
        let json = event.jsonObject()
        let shape = "\(event.type)-\(json.count / 64)"
        guard seen.insert(shape).inserted else { continue }
        writeFile("\(root)/ndjson/event-\(index).ndjson", json)
        writeFile("\(root)/codec/event-\(index).bin", [0] + EventCodec.encode(event))
        count += 2
    }
    // Checkpoint seeds: projections of the fixtures' accounts.
    var projections: [String: AccountProjection] = [:]
    for (index, event) in events.enumerated() {
        projections[event.account, default: AccountProjection(account: event.account)].apply(event, seq: UInt64(index + 1))
    }
    for (name, projection) in projections.sorted(by: { $0.key < $1.key }).prefix(20) {
        let safe = String(name.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        writeFile("\(root)/codec/checkpoint-\(safe)-\(projection.lastSeq).bin", [1] + projection.encoded())
        writeFile("\(root)/codec/settled-\(safe)-\(projection.lastSeq).bin", [3] + projection.local.settledFills.encodedDelta(since: 0))
        count += 2
    }
    print("wrote \(count) seeds into \(root)")
}
