import Foundation
import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

/// Large batches have their records built on another core
/// (`RecordsPreparedAhead`); these hold that path to the inline one: the same
/// bytes, results and errors, with duplicates and faults at any point of a batch.
@Suite struct PreparedAppendTests {
    /// A log that builds every batch's records inline, and one that prepares
    /// every batch ahead (even a batch of one).
    func twoLogs(_ a: TempFolder, _ b: TempFolder) throws -> (inline: EventLog, ahead: EventLog) {
        var inline = EventLogOptions()
        inline.prepareAheadFrom = .max
        var ahead = EventLogOptions()
        ahead.prepareAheadFrom = 1
        return (try EventLog(directory: a.path, options: inline), try EventLog(directory: b.path, options: ahead))
    }

    func events(_ count: Int, seed: UInt64) -> [Event] {
        var options = GeneratorOptions()
        options.events = count
        options.seed = seed
        options.accounts = 2
        return SyntheticGenerator(options: options).all()
    }

    func inputs(_ events: some Collection<Event>, ingestMs: ((Int) -> Int64?)? = nil) -> [AppendInput] {
        events.enumerated().map { AppendInput(event: $1, ingestMs: ingestMs?($0), line: $0 + 1) }
    }

    /// Every stored record and id index entry, byte for byte.
    func contents(_ log: EventLog) throws -> (records: [[UInt8]], index: [String: UInt64]) {
        try log.read { reader in
            var records: [[UInt8]] = []
            try reader.scanRaw(from: 1) { _, bytes in
                records.append(Array(bytes))
                return true
            }
            var index: [String: UInt64] = [:]
            try reader.scanIndex { id, seq in index[id] = seq }
            return (records, index)
        }
    }

    func expectSameContents(_ a: EventLog, _ b: EventLog, count: UInt64) throws {
        let left = try contents(a), right = try contents(b)
        #expect(left.records.count == Int(count))
        #expect(left.records == right.records)
        #expect(left.index == right.index)
        #expect(try b.verify().isSound)
    }

    @Test func preparedRecordsAreTheBytesBuiltInline() throws {
        let a = TempFolder(), b = TempFolder()
        let (inline, ahead) = try twoLogs(a, b)
        let all = events(3_000, seed: 21)
        // A first batch with imported ingest times (non-decreasing), then batches
        // stamped by the clock, one of them behind the log's last time.
        let imported = inputs(all[0..<1_200]) { Int64(1_000 + $0 / 7) }
        let clocks: [Int64] = [5_000, 900]
        for log in [inline, ahead] {
            let first = try log.append(imported, now: { 1 })
            #expect(first.appended == 1_200 && first.firstSeq == 1 && first.lastSeq == 1_200)
            for (k, range) in [1_200..<2_100, 2_100..<3_000].enumerated() {
                let result = try log.append(inputs(all[range]), now: { clocks[k] })
                #expect(result.appended == range.count && result.duplicates == 0)
            }
        }
        try expectSameContents(inline, ahead, count: 3_000)
        #expect(try ahead.event(at: 1_200)?.ingestMs == 1_000 + 1_199 / 7)
        #expect(try ahead.event(at: 3_000)?.ingestMs == 5_000)
    }

    @Test func duplicatesAnywhereInABatchGiveTheSameResultAndBytes() throws {
        let a = TempFolder(), b = TempFolder()
        let (inline, ahead) = try twoLogs(a, b)
        let all = events(4_000, seed: 22)
        // Known ids at the start, the middle and the end of the second batch, and
        // an id repeated within it (the repeat finds the entry this batch made).
        var second = Array(all[1_000..<3_500])
        second.insert(all[10], at: 0)
        second.insert(all[500], at: 1_300)
        second.insert(second[700], at: 2_000)
        second.append(all[999])
        var results: [AppendResult] = []
        for log in [inline, ahead] {
            _ = try log.append(inputs(all[0..<1_000]), now: { 10 })
            results.append(try log.append(inputs(second), now: { 20 }))
            // A whole batch of duplicates stores nothing.
            let again = try log.append(inputs(all[0..<2_000]), now: { 30 })
            #expect(again.appended == 0 && again.duplicates == 2_000)
        }
        let sameResults = results[0] == results[1]
        #expect(sameResults)
        #expect(results[1].appended == 2_500 && results[1].duplicates == 4)
        #expect(results[1].seqs[0] == 11 && results[1].seqs[1_300] == 501 && results[1].seqs.last == 1_000)
        #expect(results[1].seqs[2_000] == results[1].seqs[700])
        try expectSameContents(inline, ahead, count: 3_500)
    }

    @Test func aConflictLateInAPreparedBatchStoresNothingOfIt() throws {
        let dir = TempFolder(), other = TempFolder()
        let (_, ahead) = try twoLogs(other, dir)
        let all = events(3_000, seed: 23)
        _ = try ahead.append(inputs(all[0..<500]))
        var batch = inputs(all[500..<3_000])
        var changed = all[42]
        changed.tsMs += 1
        batch[2_300] = AppendInput(event: changed, line: 2_301)
        let error = #expect(throws: StoreError.self) { try ahead.append(batch) }
        #expect(error?.kind == .conflict && error?.line == 2_301 && error?.seq == 43)
        #expect(try ahead.lastSeq() == 500)
        #expect(try ahead.read { try $0.indexCount() } == 500)
        #expect(try ahead.verify().isSound)
    }

    @Test func anImportedTimeGoingBackLateInAPreparedBatchStoresNothingOfIt() throws {
        let dir = TempFolder(), other = TempFolder()
        let (_, ahead) = try twoLogs(other, dir)
        let all = events(2_000, seed: 24)
        let batch = inputs(all) { $0 == 1_700 ? 5 : Int64(100 + $0) }
        let error = #expect(throws: StoreError.self) { try ahead.append(batch) }
        #expect(error?.kind == .badInput && error?.line == 1_701)
        #expect(error?.message.contains("ingest_ms") == true)
        #expect(try ahead.lastSeq() == 0)
        // The same batch without the fault is stored whole.
        let fixed = inputs(all) { Int64(100 + $0) }
        let result = try ahead.append(fixed)
        #expect(result.appended == 2_000 && result.lastSeq == 2_000)
        #expect(try ahead.event(at: 2_000)?.ingestMs == 2_099)
    }
}
