import Foundation
import Testing
import ReconTestSupport

/// Fixture checks, reconcile and state, end to end through the binary.
@Suite struct ReconcileCommandTests {
    static let fixtures: String = {
        // Tests run from the package root; fall back to the source tree.
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return here.appendingPathComponent("fixtures").path
    }()

    static var fixtureDirs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).sorted()
            .map { fixtures + "/" + $0 }
            .filter { FileManager.default.fileExists(atPath: $0 + "/events.ndjson") }
    }

    @Test func everyFixturePassesCheck() throws {
        #expect(Self.fixtureDirs.count >= 15)
        let result = try CLIRunner.run(["check"] + Self.fixtureDirs)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\(Self.fixtureDirs.count) passed, 0 failed"))
    }

    @Test func changingOneByteOfAnExpectedFileFailsWithTheFieldNamed() throws {
        let dir = TempFolder("recon-check")
        let copy = dir.path + "/missed_fill"
        try FileManager.default.copyItem(atPath: Self.fixtures + "/missed_fill", toPath: copy)
        let file = copy + "/expected/run-000008-bot1.json"
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text = text.replacingOccurrences(of: #""qty": "1.5""#, with: #""qty": "1.6""#)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["check", copy])
        #expect(result.status == 1)
        #expect(result.stdout.contains(#"run-000008-bot1.json: discrepancies[1].remote.qty: expected "1.6", got "1.5""#), "\(result.stdout)")
    }

    @Test func reconcileExitCodesAndDeterminism() throws {
        let dir = TempFolder("recon-reconcile")
        let fixture = Self.fixtures + "/missed_fill"
        _ = try CLIRunner.run(["append", "--data", dir.path, fixture + "/events.ndjson"])
        let config = fixture + "/config.json"
        let a = try CLIRunner.run(["reconcile", "--data", dir.path, "--account", "bot1", "--config", config, "--json"])
        let b = try CLIRunner.run(["reconcile", "--data", dir.path, "--account", "bot1", "--config", config, "--json"])
        #expect(a.status == 3)
        func withoutDuration(_ s: String) -> String {
            s.replacingOccurrences(of: #""duration_ms":[0-9]+"#, with: "", options: .regularExpression)
        }
        #expect(withoutDuration(a.stdout) == withoutDuration(b.stdout))
        #expect(a.stdout.contains(#""status":"critical""#))
        // Before the venue's data arrives the account reports only that the venue is silent.
        let early = try CLIRunner.run(["reconcile", "--data", dir.path, "--account", "bot1", "--config", config, "--at", "3"])
        #expect(early.status == 2, "\(early.stdout)")
        #expect(early.stdout.contains("remote_stale"))
        let clean = Self.fixtures + "/clean_market_making"
        let dir2 = TempFolder("recon-reconcile")
        _ = try CLIRunner.run(["append", "--data", dir2.path, clean + "/events.ndjson"])
        let ok = try CLIRunner.run(["reconcile", "--data", dir2.path, "--account", "mm1", "--config", clean + "/config.json"])
        #expect(ok.status == 0, "\(ok.stdout)")
    }

    @Test func stateShowsBothSidesWithProvenance() throws {
        let dir = TempFolder("recon-state")
        _ = try CLIRunner.run(["append", "--data", dir.path, Self.fixtures + "/missed_fill/events.ndjson"])
        let human = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1"])
        #expect(human.status == 0)
        #expect(human.stdout.contains("LOCAL") && human.stdout.contains("REMOTE") && human.stdout.contains("ETH-PERP"))
        let json = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1", "--json", "--at", "4"])
        #expect(json.stdout.contains(#""at_seq":4"#))
        #expect(json.stdout.contains(#""seq":"#))
        let bad = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1", "--at", "99"])
        #expect(bad.status != 0 && bad.stderr.contains("past the end of the log"))
    }
}
