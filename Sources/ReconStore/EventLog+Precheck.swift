import ReconCore

extension EventLog {
    /// Appends an input of any size: in one transaction when it fits `batchSize`,
    /// else ids checked first (``precheck(_:)``) so that a rejected input still
    /// stores nothing, then written in batches. Returns the batches' results
    /// joined; `progress` hears the count written after each batch.
    /// `precheck: false` when the caller has checked the ids already (an input
    /// read in pieces, with ``PiecewisePrecheck``).
    public func appendInBatches(_ inputs: [AppendInput], batchSize: Int, precheck: Bool = true,
                                progress: (Int) -> Void = { _ in }) throws -> AppendResult {
        if precheck && inputs.count > batchSize { try self.precheck(inputs) }
        var total = AppendResult(seqs: [], duplicate: [], appended: 0, duplicates: 0, firstSeq: nil, lastSeq: nil)
        var start = 0
        while start < inputs.count {
            let end = min(start + batchSize, inputs.count)
            let part = try append(Array(inputs[start..<end]))
            total.add(part)
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
                        throw Self.repeatConflict(inputs[i], earlierLine: inputs[earlier].line)
                    }
                    continue
                }
                try Self.checkAgainstLog(inputs[i], content: nil, reader)
                seen[id] = i
            }
        }
    }

    /// Throws if the log holds `input`'s id with another body (`content`: the
    /// input's encoding, when the caller has it).
    static func checkAgainstLog(_ input: AppendInput, content: [UInt8]?, _ reader: LogReader) throws {
        guard let entry = try reader.indexEntry(id: input.event.id) else { return }
        let content = content ?? EventCodec.encode(input.event)
        let same = try reader.withRecord(at: entry.seq) { bytes -> Bool in
            let header = try LogRecord.header(bytes, seq: entry.seq)
            return content.elementsEqual(bytes[header.contentOffset...])
        }
        if same != true {
            throw StoreError(.conflict, "line \(input.line): field \"id\": \"\(input.event.id)\" is already in the log at seq \(entry.seq) with a different body; nothing was stored",
                             line: input.line, seq: entry.seq)
        }
    }

    static func repeatConflict(_ input: AppendInput, earlierLine: Int) -> StoreError {
        StoreError(.conflict, "line \(input.line): field \"id\": \"\(input.event.id)\" appears at line \(earlierLine) with a different body; nothing was stored",
                   line: input.line)
    }
}

/// ``EventLog/precheck(_:)`` for an input read in pieces, too large to hold:
/// each piece is checked as it comes, and the ids of earlier pieces are kept
/// with their body's hash (FNV-1a 64 of the encoding, as the id index keeps
/// it) instead of their events. Feed it every piece, then append the pieces
/// with `precheck: false`: a rejected input then stores nothing.
public struct PiecewisePrecheck {
    private var seen: [String: (line: Int, hash: UInt64)] = [:]

    public init() {}

    /// `log` nil: there is no log yet, only the input's own ids to check.
    public mutating func check(_ inputs: [AppendInput], against log: EventLog?) throws {
        guard let log else { return try check(inputs, nil) }
        try log.read { reader in try check(inputs, reader) }
    }

    private mutating func check(_ inputs: [AppendInput], _ reader: LogReader?) throws {
        for input in inputs {
            let content = EventCodec.encode(input.event)
            let hash = content.withUnsafeBytes { FNV1a64.hash($0) }
            if let earlier = seen[input.event.id] {
                guard earlier.hash == hash else { throw EventLog.repeatConflict(input, earlierLine: earlier.line) }
                continue
            }
            if let reader { try EventLog.checkAgainstLog(input, content: content, reader) }
            seen[input.event.id] = (input.line, hash)
        }
    }
}
