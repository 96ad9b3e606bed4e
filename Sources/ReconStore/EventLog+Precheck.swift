import ReconCore

extension EventLog {
    /// Rejects an input whose ids conflict, before anything is written.
    ///
    /// A large import is written in several transactions; checking every id first
    /// (against the log and within the input) keeps "nothing of a rejected input
    /// is stored" true for it too. The append re-checks inside its transaction,
    /// so a concurrent writer cannot slip a conflict past it.
    public func precheck(_ inputs: [AppendInput]) throws {
        // Each id's first input and body hash. Bodies are not kept (that would be
        // a second copy of the whole input); the rare repeat with an equal hash
        // re-encodes the first one to compare bytes.
        var seen: [String: (hash: UInt64, index: Int)] = [:]
        seen.reserveCapacity(inputs.count)
        var content = ByteWriter(capacity: 512)
        try read { reader in
            for i in inputs.indices {
                content.bytes.removeAll(keepingCapacity: true)
                EventCodec.encode(inputs[i].event, into: &content)
                let hash = content.bytes.withUnsafeBytes { FNV1a64.hash($0) }
                let id = inputs[i].event.id
                if let earlier = seen[id] {
                    if earlier.hash != hash || EventCodec.encode(inputs[earlier.index].event) != content.bytes {
                        throw StoreError(.conflict, "line \(inputs[i].line): field \"id\": \"\(id)\" appears at line \(inputs[earlier.index].line) with a different body; nothing was stored",
                                         line: inputs[i].line)
                    }
                    continue
                }
                if let entry = try reader.indexEntry(id: id) {
                    let same = try reader.withRecord(at: entry.seq) { bytes -> Bool in
                        let header = try LogRecord.header(bytes, seq: entry.seq)
                        return content.bytes.elementsEqual(bytes[header.contentOffset...])
                    }
                    if entry.hash != hash || same != true {
                        throw StoreError(.conflict, "line \(inputs[i].line): field \"id\": \"\(id)\" is already in the log at seq \(entry.seq) with a different body; nothing was stored",
                                         line: inputs[i].line, seq: entry.seq)
                    }
                }
                seen[id] = (hash, i)
            }
        }
    }
}
