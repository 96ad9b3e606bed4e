import ReconCore

/// What `recon verify` found.
public struct VerifyReport: Sendable {
    public var records: UInt64 = 0
    public var indexEntries = 0
    public var lastSeq: UInt64 = 0
    /// Each fault names the seq (or id) it is about; empty means the log is sound.
    public var faults: [String] = []
    /// Faults past this many are counted, not listed.
    public var faultsNotListed = 0

    public var isSound: Bool { faults.isEmpty }
}

extension EventLog {
    /// The most faults a verify lists before it only counts them.
    public static let maxListedFaults = 100

    /// Checks the whole log: seqs contiguous from 1, every checksum, every record
    /// decodes, ingest times never decrease, the content chain recomputes, and the
    /// id index maps every record's id to its seq and holds nothing else.
    public func verify(progress: (UInt64, UInt64) -> Void = { _, _ in }) throws -> VerifyReport {
        try read { reader in
            var report = VerifyReport()
            func fault(_ text: String) {
                if report.faults.count < Self.maxListedFaults { report.faults.append(text) } else { report.faultsNotListed += 1 }
            }
            let last = try reader.lastSeq()
            report.lastSeq = last
            var expected: UInt64 = 1
            var lastIngest = Int64.min
            var chain = ContentChain.start
            try reader.scanRaw(from: 1, checkOrder: false) { seq, bytes in
                report.records += 1
                if seq > expected {
                    fault("seq \(expected)...\(seq - 1): missing (the log jumps from \(expected - 1) to \(seq))")
                    expected = seq + 1
                } else if seq < expected {
                    // A damaged key: LMDB hands keys back in page order, not sorted.
                    fault("seq \(seq): out of order after seq \(expected - 1) (a key was damaged)")
                } else {
                    expected += 1
                }
                if seq % 65_536 == 0 { progress(seq, last) }
                guard LogRecord.verifyChecksum(bytes) else {
                    fault("seq \(seq): checksum mismatch (record damaged)")
                    return true
                }
                let header: LogRecord.Header
                let logged: LoggedEvent
                do {
                    header = try LogRecord.header(bytes, seq: seq)
                    logged = try LogRecord.decode(bytes, seq: seq)
                } catch {
                    fault("\(error)")
                    return true
                }
                if header.ingestMs < lastIngest {
                    fault("seq \(seq): ingest_ms \(header.ingestMs) goes back in time (previous \(lastIngest))")
                }
                lastIngest = header.ingestMs
                let content = UnsafeRawBufferPointer(rebasing: bytes[header.contentOffset...])
                // Decoding took the snapshot's lists whole by the lengths in the
                // header; stepping over every item checks them as a walk would.
                if header.version >= LogRecord.listLengthsVersion && SnapshotListLengths.measure(content) != header.listLengths {
                    fault("seq \(seq): the snapshot list lengths in the header do not match its lists")
                }
                let bodyHash: UInt64
                (chain, bodyHash) = ContentChain.nextWithBodyHash(chain, content: content)
                if chain != header.chain {
                    fault("seq \(seq): content chain mismatch (a record at or before it was altered)")
                    chain = header.chain
                }
                let indexed: (seq: UInt64, hash: UInt64)?
                do {
                    indexed = try reader.indexEntry(id: logged.event.id)
                } catch {
                    fault("seq \(seq): id index entry for \"\(logged.event.id)\" is unreadable: \(error)")
                    return true
                }
                if let entry = indexed {
                    if entry.seq != seq {
                        fault("seq \(seq): id \"\(logged.event.id)\" is indexed at seq \(entry.seq) (duplicate id in the log or stale index)")
                    } else if entry.hash != bodyHash {
                        fault("seq \(seq): id index body hash does not match the record")
                    }
                } else {
                    fault("seq \(seq): id \"\(logged.event.id)\" is missing from the id index")
                }
                return true
            }
            report.indexEntries = try reader.indexCount()
            if UInt64(report.indexEntries) != report.records {
                fault("the id index holds \(report.indexEntries) entries for \(report.records) records")
            }
            progress(last, last)
            return report
        }
    }
}
