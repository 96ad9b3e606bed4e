import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

/// Limits of the store in one process: each ends in a clear error and leaves the
/// log as it was.
@Suite struct StoreLimitTests {
    func events(_ count: Int, seed: UInt64 = 3) -> [AppendInput] {
        var options = GeneratorOptions()
        options.events = count
        options.seed = seed
        return SyntheticGenerator(options: options).all().enumerated().map { AppendInput(event: $1, line: $0 + 1) }
    }

    /// The map grows until its maximum; past it, appends fail with a message and
    /// the log keeps every batch that was committed.
    @Test func theMapsMaximumIsAClearErrorAndTheLogIsIntact() throws {
        let dir = TempFolder()
        var options = EventLogOptions()
        options.mapSizeBytes = 128 * 1024
        options.maxMapSizeBytes = 512 * 1024
        let log = try EventLog(directory: dir.path, options: options)
        let all = events(20_000)
        var written = 0
        var failure: StoreError?
        for start in stride(from: 0, to: all.count, by: 500) {
            do {
                _ = try log.append(Array(all[start..<start + 500]))
                written += 500
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.kind == .storage)
        #expect(error.message.contains("size limit of 524288 bytes"), "\(error.message)")
        #expect(log.mapSizeBytes == 512 * 1024, "it grew to the maximum first")
        #expect(written > 0)
        #expect(try log.lastSeq() == UInt64(written))
        #expect(try log.verify().isSound)
    }

    /// Every reader slot taken: one more read fails with a message, a writer is
    /// not held up (writers need no slot), and reads work again once slots free.
    @Test func readersFullIsAClearErrorAndReadsResume() throws {
        let dir = TempFolder()
        let log = try EventLog(directory: dir.path)
        _ = try log.append(Array(events(100)))
        var depth = 0
        var failure: (any Error)?
        var appendedWhileFull = false
        func nest() throws {
            do {
                try log.read { _ in
                    depth += 1
                    try nest()
                }
            } catch let error as StoreError where error.message.contains("too many concurrent readers") {
                failure = error
                // Every slot is held by the reads above: a writer still gets through.
                let more = try log.append(Array(events(150).suffix(50)))
                appendedWhileFull = more.appended == 50
            }
        }
        try nest()
        #expect(depth == 126, "LMDB's default of 126 reader slots")
        let error = try #require(failure as? StoreError)
        #expect(error.kind == .storage)
        #expect(appendedWhileFull)
        #expect(try log.lastSeq() == 150)
        #expect(try log.verify().isSound)
    }
}
