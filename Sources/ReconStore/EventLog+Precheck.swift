import ReconCore

extension EventLog {
    /// Appends an input of any size: in one transaction when it fits `batchSize`,
    /// else ids checked first (``precheck(_:)``) so that a rejected input still
    /// stores nothing, then written in batches. Returns the batches' results
    /// joined; `progress` hears the count written after each batch.
    public func appendInBatches(_ inputs: [AppendInput], batchSize: Int,
                                progress: (Int) -> Void = { _ in }) throws -> AppendResult {
        if inputs.count > batchSize { try precheck(inputs) }
        var total = AppendResult(seqs: [], duplicate: [], appended: 0, duplicates: 0, firstSeq: nil, lastSeq: nil)
        var start = 0
        while start < inputs.count {
            let end = min(start + batchSize, inputs.count)
            let part = try append(Array(inputs[start..<end]))
            total.seqs += part.seqs
            total.duplicate += part.duplicate
            total.appended += part.appended
            total.duplicates += part.duplicates
            if total.firstSeq == nil { total.firstSeq = part.firstSeq }
            if part.lastSeq != nil { total.lastSeq = part.lastSeq }
            start = end
            progress(end)
        }
        return total
    }

    /// Rejects an input whose ids conflict, before anything is written.
    ///
    /// A large import is written in several transactions; checking every id first
    /// (against the log and within the input) keeps "nothing of a rejected input
    /// is stored" true for it too. The append re-checks inside its transaction,
    /// so a concurrent writer cannot slip a conflict past it.
    public func precheck(_ inputs: [AppendInput]) throws {
        // Each id's first input. A new id costs two lookups and no encoding: only
        // a repeated id, or one the log holds, is encoded to compare bodies.
        var seen: [String: Int] = [:]
        seen.reserveCapacity(inputs.count)
        try read { reader in
            for i in inputs.indices {
                let id = inputs[i].event.id
                if let earlier = seen[id] {
                    if EventCodec.encode(inputs[earlier].event) != EventCodec.encode(inputs[i].event) {
                        throw StoreError(.conflict, "line \(inputs[i].line): field \"id\": \"\(id)\" appears at line \(inputs[earlier].line) with a different body; nothing was stored",
                                         line: inputs[i].line)
                    }
                    continue
                }
                if let entry = try reader.indexEntry(id: id) {
                    let content = EventCodec.encode(inputs[i].event)
                    let same = try reader.withRecord(at: entry.seq) { bytes -> Bool in
                        let header = try LogRecord.header(bytes, seq: entry.seq)
                        return content.elementsEqual(bytes[header.contentOffset...])
                    }
                    if same != true {
                        throw StoreError(.conflict, "line \(inputs[i].line): field \"id\": \"\(id)\" is already in the log at seq \(entry.seq) with a different body; nothing was stored",
                                         line: inputs[i].line, seq: entry.seq)
                    }
                }
                seen[id] = i
            }
        }
    }
}
