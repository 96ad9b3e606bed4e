import Foundation
import Synchronization
import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

@Suite struct EventLogTests {
    func transfer(_ id: String, amount: ExactDecimal = 1, ts: Int64 = 1_000) -> Event {
        Event(id: id, account: "bot1", tsMs: ts, body: .transfer(Transfer(asset: "USDT", amount: amount, kind: .deposit)))
    }

    func inputs(_ events: [Event]) -> [AppendInput] {
        events.enumerated().map { AppendInput(event: $1, line: $0 + 1) }
    }

    func allEvents(_ log: EventLog) throws -> [LoggedEvent] {
        var out: [LoggedEvent] = []
        try log.scan { out.append($0); return true }
        return out
    }

    @Test func appendsWithContiguousSeqsAndReadsBack() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        let events = RandomEvents.sample(seed: 5, count: 300)
        let first = try log.append(inputs(Array(events[0..<100])), now: { 5_000 })
        #expect(first.firstSeq == 1 && first.lastSeq == 100 && first.appended == 100)
        let second = try log.append(inputs(Array(events[100...])), now: { 6_000 })
        #expect(second.firstSeq == 101 && second.lastSeq == 300)
        let stored = try allEvents(log)
        #expect(stored.map(\.seq) == Array(1...300))
        #expect(stored.map(\.event) == events)
        #expect(stored[0].ingestMs == 5_000 && stored[299].ingestMs == 6_000)
        #expect(try log.verify().isSound)
    }

    @Test func reappendIsANoOpReturningTheOriginalSeq() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append(inputs([transfer("a"), transfer("b")]))
        let again = try log.append(inputs([transfer("c"), transfer("b"), transfer("a")]))
        #expect(again.appended == 1 && again.duplicates == 2)
        #expect(again.seqs == [3, 2, 1])
        #expect(again.duplicate == [false, true, true])
        #expect(try log.lastSeq() == 3)
    }

    @Test func conflictRejectsTheWholeBatchAndLeavesTheLogUnchanged() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append(inputs([transfer("a", amount: 1)]))
        #expect(throws: StoreError.self) {
            try log.append(inputs([transfer("new1"), transfer("a", amount: 2), transfer("new2")]))
        }
        #expect(try log.lastSeq() == 1)
        #expect(try log.read { try $0.indexCount() } == 1)
        // The same within one batch.
        #expect(throws: StoreError.self) {
            try log.append(inputs([transfer("x", amount: 1), transfer("x", amount: 3)]))
        }
        #expect(try log.lastSeq() == 1)
        // An identical repeat inside one batch is a duplicate, not a conflict.
        let result = try log.append(inputs([transfer("y"), transfer("y")]))
        #expect(result.seqs == [2, 2] && result.duplicates == 1)
    }

    @Test func equalValuesWrittenDifferentlyAreTheSameBody() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append(inputs([transfer("a", amount: "1.50")]))
        let again = try log.append(inputs([transfer("a", amount: "1.5")]))
        #expect(again.duplicates == 1)
    }

    @Test func importedIngestTimesAreKeptAndMustNotGoBack() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append([AppendInput(event: transfer("a"), ingestMs: 100, line: 1),
                            AppendInput(event: transfer("b"), ingestMs: 200, line: 2)])
        #expect(try log.event(at: 2)?.ingestMs == 200)
        #expect(throws: StoreError.self) {
            try log.append([AppendInput(event: transfer("c"), ingestMs: 150, line: 1)])
        }
        // A wall clock behind the log's last ingest time never makes time go back.
        _ = try log.append(inputs([transfer("d")]), now: { 50 })
        #expect(try log.event(at: 3)?.ingestMs == 200)
        #expect(try log.read { try $0.seq(atIngestMs: 199) } == 1)
        #expect(try log.read { try $0.seq(atIngestMs: 200) } == 3)
        #expect(try log.read { try $0.seq(atIngestMs: 99) } == 0)
    }

    @Test func mapGrowsWhenFull() throws {
        let dir = TempFolder()
        var options = EventLogOptions()
        options.mapSizeBytes = 256 * 1024
        let log = try EventLog(directory: dir.path, options: options)
        var opts = GeneratorOptions()
        opts.events = 20_000
        let events = SyntheticGenerator(options: opts).all()
        for start in stride(from: 0, to: events.count, by: 5_000) {
            _ = try log.append(inputs(Array(events[start..<start + 5_000])))
        }
        #expect(log.mapSizeBytes > 256 * 1024)
        #expect(try log.lastSeq() == 20_000)
        #expect(try log.verify().isSound)
    }

    @Test func contentChainIgnoresIngestTimes() throws {
        let a = TempFolder(), b = TempFolder()
        let logA = try EventLog(directory: a.path)
        let logB = try EventLog(directory: b.path)
        let events = RandomEvents.sample(seed: 11, count: 50)
        _ = try logA.append(inputs(events), now: { 1 })
        _ = try logB.append(inputs(events), now: { 999 })
        #expect(try logA.read { try $0.chainHash(at: 50) } == logB.read { try $0.chainHash(at: 50) })
        #expect(try logA.read { try $0.chainHash(at: 49) } != logA.read { try $0.chainHash(at: 50) })
    }

    @Test func verifyFindsAFlippedByteAndNamesTheSeq() throws {
        let dir = TempFolder()
        do {
            let log = try EventLog(directory: dir.path)
            var events = (1...20).map { transfer("ev-\($0)") }
            events[11] = Event(id: "needle-event", account: "bot1", tsMs: 1, body: .reconRequested(ReconRequested(requestedBy: "MARKER-XYZ")))
            _ = try log.append(inputs(events))
        }
        try dir.damageLogFile(at: "MARKER-XYZ")
        let log = try EventLog(directory: dir.path)
        let report = try log.verify()
        #expect(!report.isSound)
        #expect(report.faults.contains { $0.hasPrefix("seq 12:") && $0.contains("checksum") })
        // Reading the damaged record fails loudly instead of returning wrong data.
        #expect(throws: StoreError.self) { try log.event(at: 12) }
        #expect(try log.event(at: 11) != nil)
    }

    @Test func refusesAFolderFromANewerFormat() throws {
        let dir = TempFolder()
        do {
            let log = try EventLog(directory: dir.path)
            let txn = try LMDBTransaction(log.env, readOnly: false)
            try Array("format".utf8).withUnsafeBytes { k in
                try [UInt8(99)].withUnsafeBytes { v in try txn.put(log.meta, key: k, value: v, flags: 0) }
            }
            try txn.commit()
        }
        #expect {
            _ = try EventLog(directory: dir.path)
        } throws: { error in
            (error as? StoreError)?.kind == .unsupportedVersion && "\(error)".contains("format 99")
        }
    }

    @Test func precheckFindsConflictsBeforeAnythingIsWritten() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append(inputs([transfer("a", amount: 1)]))
        #expect { try log.precheck(inputs([transfer("b"), transfer("a", amount: 5)])) } throws: { error in
            "\(error)".contains(#"line 2: field "id": "a" is already in the log at seq 1 with a different body"#)
        }
        #expect { try log.precheck(inputs([transfer("c"), transfer("b", amount: 1), transfer("b", amount: 2)])) } throws: { error in
            "\(error)".contains(#"line 3: field "id": "b" appears at line 2 with a different body"#)
        }
        // Identical repeats, within the input and of the log, are duplicates, not conflicts.
        try log.precheck(inputs([transfer("a", amount: 1), transfer("b"), transfer("b"), transfer("a", amount: 1)]))
        #expect(try log.lastSeq() == 1)
    }

    /// LMDB's writer stores a run of pages by moving the data file's offset
    /// (`lseek`) and then writing (`writev`) through the descriptor every reader
    /// of the process shares; a read that moved the offset in between sent the
    /// pages to the end of the file. Reads must leave the offset where it was.
    @Test func readsNeverMoveTheDataFilesOffset() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append(inputs(RandomEvents.sample(seed: 7, count: 500)))
        let fd = try #require(log.env.dataFileDescriptor)
        #expect(lseek(fd, 4096, SEEK_SET) == 4096)
        #expect(try log.lastSeq() == 500)
        #expect(try log.event(at: 250) != nil)
        #expect(try allEvents(log).count == 500)
        #expect(try log.verify().isSound)
        #expect(lseek(fd, 0, SEEK_CUR) == 4096)
    }

    /// Readers reading while batches of many pages commit: every batch is stored
    /// where the tree points (this lost index entries and damaged pages when a
    /// read moved the descriptor's offset mid-commit).
    @Test func readsDuringCommitsLeaveASoundLog() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        let events = RandomEvents.sample(seed: 11, count: 24_000)
        let writing = Atomic<Bool>(true)
        let readersDone = DispatchGroup()
        for _ in 0..<2 {
            readersDone.enter()
            Thread {
                while writing.load(ordering: .relaxed) { _ = try? log.lastSeq() }
                readersDone.leave()
            }.start()
        }
        for start in stride(from: 0, to: events.count, by: 200) {
            _ = try log.append(inputs(Array(events[start..<start + 200])))
        }
        writing.store(false, ordering: .relaxed)
        readersDone.wait()
        let report = try log.verify()
        #expect(report.isSound, "\(report.faults.prefix(3))")
        #expect(report.records == 24_000 && report.indexEntries == 24_000)
    }
}
