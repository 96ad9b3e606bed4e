import ReconCore

extension EventLog {
    /// Rejects an input whose ids conflict, before anything is written.
    ///
    /// A large import is written in several transactions; checking every id first
    /// (against the log and within the input) keeps "nothing of a rejected input
    /// is stored" true for it too. The append re-checks inside its transaction,
    /// so a concurrent writer cannot slip a conflict past it.
    public func precheck(_ inputs: [AppendInput]) throws {
        var seen: [String: (hash: UInt64, line: Int, content: [UInt8])] = [:]
        seen.reserveCapacity(inputs.count)
        try read { reader in
            for input in inputs {
                let content = EventCodec.encode(input.event)
                let hash = FNV1a64.hash(content)
                if let earlier = seen[input.event.id] {
                    if earlier.hash != hash || earlier.content != content {
                        throw StoreError(.conflict, "line \(input.line): field \"id\": \"\(input.event.id)\" appears at line \(earlier.line) with a different body; nothing was stored",
                                         line: input.line)
                    }
                    continue
                }
                if let entry = try reader.indexEntry(id: input.event.id) {
                    let stored = try reader.withRecord(at: entry.seq) { bytes -> [UInt8] in
                        let header = try LogRecord.header(bytes, seq: entry.seq)
                        return Array(bytes[header.contentOffset...])
                    }
                    if entry.hash != hash || stored != content {
                        throw StoreError(.conflict, "line \(input.line): field \"id\": \"\(input.event.id)\" is already in the log at seq \(entry.seq) with a different body; nothing was stored",
                                         line: input.line, seq: entry.seq)
                    }
                }
                // Only the hash is needed for later lines unless hashes collide,
                // which the content comparison above settles; keep it small.
                seen[input.event.id] = (hash, input.line, content)
            }
        }
    }
}
