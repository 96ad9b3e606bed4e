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

    /// `state --key` lists the events that changed one value, on each side, with
    /// the value after each: the bot's fills of the symbol (not another symbol's),
    /// and the venue's report.
    @Test func stateFollowsOneKeyThroughTheLog() throws {
        let dir = TempFolder("recon-state-key")
        _ = try CLIRunner.run(["append", "--data", dir.path, Self.fixtures + "/missed_fill/events.ndjson"])
        func changes(_ key: String, _ extra: [String] = []) throws -> [[String: Any]] {
            let out = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1", "--key", key, "--json"] + extra)
            #expect(out.status == 0, "\(out.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any]
            #expect(json?["key"] as? String == key)
            return json?["changes"] as? [[String: Any]] ?? []
        }
        func summary(_ c: [[String: Any]]) -> [String] {
            c.map { "\($0["seq"] as? Int ?? 0) \($0["side"] as? String ?? "") \($0["value"] as? String ?? "nil")" }
        }
        #expect(try summary(changes("position:ETH-PERP", ["--at", "8"])) == [
            "5 local qty 1, entry 3399.5, realized 0",
            "6 local qty 0.5, entry 3399.5, realized 1",
            "8 remote qty 1.5, entry 3399.5",
        ])
        #expect(try summary(changes("order:o-2001", ["--at", "8"])) == [
            "3 local open, filled 0 of 2", "5 local open, filled 1 of 2", "8 remote not open",
        ])
        #expect(try summary(changes("balance:USDT", ["--at", "8"])) == [
            "2 local 50000", "5 local 50001.69975", "6 local 50003.550125", "8 remote 50005.249875",
        ])
        #expect(try changes("position:ETH-PERP", ["--at", "4"]).isEmpty)
        #expect(try summary(changes("position:ETH-PERP", ["--side", "remote"])).first == "8 remote qty 1.5, entry 3399.5")
        // A symbol the bot never traded: the venue's complete list says flat.
        #expect(try summary(changes("position:BTC-PERP")) == ["8 remote flat"])
        let human = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1", "--key", "position:ETH-PERP", "--at", "8"])
        #expect(human.stdout.contains("position:ETH-PERP of account bot1, up to seq 8: 3 changes"), "\(human.stdout)")
        let bad = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1", "--key", "pos:ETH"])
        #expect(bad.status != 0 && bad.stderr.contains("--key must be position:SYMBOL"))
    }
}
