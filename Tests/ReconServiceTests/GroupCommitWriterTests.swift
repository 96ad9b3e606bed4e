import Foundation
import ReconCore
import ReconService
import ReconStore
import Synchronization
import Testing
import ReconTestSupport

/// The writer in process, against a real (durable) log.
struct GroupCommitWriterTests {
    static func inputs(_ ids: Range<Int>, prefix: String = "e", qty: String = "1") throws -> [AppendInput] {
        let text = ids.map {
            #"{"type":"transfer","id":"\#(prefix)-\#($0)","account":"a","ts_ms":\#(1_763_000_000_000 + $0),"asset":"USDT","amount":"\#(qty)","kind":"deposit"}"#
        }.joined(separator: "\n")
        return try Array(text.utf8).withUnsafeBytes { try NDJSON.decodeBatch($0) }.map { AppendInput(event: $0.event, line: $0.line) }
    }

    @Test func concurrentRequestsShareCommitsAndGetTheirOwnSeqs() async throws {
        let folder = TempFolder("recon-gcw")
        let log = try EventLog(directory: folder.path + "/log")
        let commits = Mutex(0)
        let writer = GroupCommitWriter(log: log) { _ in commits.withLock { $0 += 1 } }
        writer.start()
        let results = try await withThrowingTaskGroup(of: (Int, AppendResult).self) { group in
            for r in 0..<64 {
                let batch = try Self.inputs(r * 10..<(r + 1) * 10)
                group.addTask { (r, try await writer.submit(batch)) }
            }
            var all: [Int: AppendResult] = [:]
            for try await (r, result) in group { all[r] = result }
            return all
        }
        writer.stop()
        let seqs = results.values.flatMap(\.seqs).sorted()
        #expect(seqs == Array(1...640).map(UInt64.init))
        for (r, result) in results {
            // Each request's events keep their order and stay together.
            #expect(result.seqs == Array(result.seqs[0]..<result.seqs[0] + 10), "request \(r)")
            #expect(result.appended == 10)
        }
        #expect(commits.withLock { $0 } < 64)
        #expect(try log.lastSeq() == 640)
    }

    @Test func oneBadRequestDoesNotFailItsGroup() async throws {
        let folder = TempFolder("recon-gcw-conflict")
        let log = try EventLog(directory: folder.path + "/log")
        _ = try log.append(try Self.inputs(0..<1, prefix: "x"))
        let writer = GroupCommitWriter(log: log)
        writer.start()
        let conflicting = try Self.inputs(100..<105, prefix: "ok") + Self.inputs(0..<1, prefix: "x", qty: "2")
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            group.addTask { (0, (try? await writer.submit(conflicting)) != nil) }
            for r in 1..<16 {
                let batch = try! Self.inputs(r * 10..<(r + 1) * 10)
                group.addTask { (r, (try? await writer.submit(batch)) != nil) }
            }
            var all: [Int: Bool] = [:]
            for await (r, ok) in group { all[r] = ok }
            return all
        }
        writer.stop()
        #expect(outcomes[0] == false)
        #expect((1..<16).allSatisfy { outcomes[$0] == true })
        #expect(try log.lastSeq() == 1 + 150)
        #expect(try log.read { try $0.indexEntry(id: "ok-100") } == nil)
    }

    @Test func aFullQueueRefusesInsteadOfBuffering() async throws {
        let folder = TempFolder("recon-gcw-busy")
        let log = try EventLog(directory: folder.path + "/log")
        var limits = GroupCommitWriter.Limits()
        limits.maxQueuedEvents = 20
        let writer = GroupCommitWriter(log: log, limits: limits)
        writer.start()
        let outcomes = await withTaskGroup(of: String.self) { group in
            for r in 0..<60 {
                let batch = try! Self.inputs(r * 10..<(r + 1) * 10)
                group.addTask {
                    do {
                        _ = try await writer.submit(batch)
                        return "ok"
                    } catch IngestError.busy {
                        return "busy"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            var all: [String] = []
            for await o in group { all.append(o) }
            return all
        }
        writer.stop()
        #expect(outcomes.contains("busy"))
        #expect(outcomes.allSatisfy { $0 == "ok" || $0 == "busy" })
        #expect(try log.lastSeq() == UInt64(outcomes.filter { $0 == "ok" }.count * 10))
    }

    @Test func stopCommitsWhatIsQueuedThenRefuses() async throws {
        let folder = TempFolder("recon-gcw-stop")
        let log = try EventLog(directory: folder.path + "/log")
        let writer = GroupCommitWriter(log: log)
        writer.start()
        let result = try await writer.submit(try Self.inputs(0..<5))
        #expect(result.seqs == [1, 2, 3, 4, 5])
        writer.stop()
        await #expect(throws: IngestError.self) { try await writer.submit(try Self.inputs(5..<6)) }
        #expect(try log.lastSeq() == 5)
    }
}
