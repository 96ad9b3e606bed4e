import Foundation
import Testing
import ReconTestSupport

/// The benchmarks run in CI at small sizes: they must keep working (BENCHMARKS.md
/// quotes them) and their own checks must hold. Timings are not asserted; a
/// machine's speed is not a test's business.
@Suite struct BenchSmokeTests {
    /// Above the order pass's split threshold, so the threaded path runs; one
    /// difference per hundred symbols makes two discrepancies.
    @Test func reconcileBenchFindsTheDifferencesItPlanted() throws {
        let scratch = TempFolder("recon-bench-reconcile")
        let result = try CLIRunner.run(["bench", "reconcile", "--symbols", "200", "--orders", "20000", "--scratch", scratch.path + "/log"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("found 2 discrepancies, checked 200 positions"), "\(result.stdout)")
        #expect(result.stdout.contains("replay of the events from the log (baseline, best of 5)"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/log"), "the scratch log is deleted afterwards")
    }

    /// The drift bench exits 1 when a fault is not found where `generate` announced it.
    @Test func driftBenchFindsEveryInjectedFault() throws {
        let scratch = TempFolder("recon-bench-drift")
        let result = try CLIRunner.run(["bench", "drift", "--events", "30000", "--repeat", "1", "--scratch", scratch.path + "/log"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        for kind in ["missed_fill", "duplicate_fill", "lost_order"] {
            #expect(result.stdout.contains(kind), "\(kind) missing from: \(result.stdout)")
        }
    }

    /// The replay bench names which thread bounds a replay, from both threads'
    /// CPU time: the folding one cannot have used more CPU than the replay's
    /// wall time, and the decoding one must have run.
    @Test func replayBenchSplitsTheReplaysCPUBetweenItsThreads() throws {
        let scratch = TempFolder("recon-bench-replay")
        let result = try CLIRunner.run(["bench", "replay", "--events", "20000", "--points", "5", "--repeat", "1",
                                        "--scratch", scratch.path + "/log"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        /// The number after `label` on the line that holds it.
        func number(after label: String) -> Double? {
            guard let line = lines.first(where: { $0.contains(label) }), let range = line.range(of: label) else { return nil }
            return Double(line[range.upperBound...].drop { $0 == " " }.prefix { $0 == "." || $0.isNumber })
        }
        let wall = try #require(number(after: "full replay (both reducers)"), "\(result.stdout)")
        let fold = try #require(number(after: "CPU: folding thread"), "\(result.stdout)")
        let decode = try #require(number(after: "other threads (decoding)"), "\(result.stdout)")
        let cpu = lines.first { $0.contains("CPU: folding thread") } ?? ""
        #expect(fold > 0 && fold <= wall + 0.01, "\(cpu) against a replay of \(wall) s")
        #expect(decode > 0, "\(cpu)")
        #expect(cpu.contains(fold >= decode ? "bound by the fold" : "bound by the decoding"), "\(cpu)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/log"), "the scratch log is deleted afterwards")
    }
}
