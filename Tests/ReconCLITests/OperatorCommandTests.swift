import Foundation
import Testing
import ReconCore
@testable import ReconStore
import ReconTestSupport

/// `recon correct`, `whatif`, `positions`, `status`, `exposure`: the operator's tools.
@Suite struct OperatorCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../fixtures").standardized.path

    func append(_ dir: String, _ lines: [String]) throws {
        let result = try CLIRunner.run(["append", "--data", dir, "-"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(result.status == 0, "\(result.stderr)")
    }

    func report(_ dir: String, _ account: String) throws -> [String: Any] {
        let result = try CLIRunner.run(["reconcile", "--data", dir, "--account", account, "--json"])
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func openKeys(_ report: [String: Any], minimum: Set<String> = ["warning", "critical"]) -> [String] {
        (report["discrepancies"] as? [[String: Any]] ?? []).filter { minimum.contains($0["severity"] as? String ?? "") }
            .compactMap { $0["key"] as? String }.sorted()
    }

    func events(_ dir: String) throws -> [String] {
        try CLIRunner.run(["events", "--data", dir]).stdout.split(separator: "\n").map(String.init)
    }

    static func line(_ account: String, _ n: Int, _ ts: Int64, _ body: String) -> String {
        #"{"id":"\#(account)-\#(n)","account":"\#(account)","ts_ms":\#(ts),"# + body.dropFirst()
    }

    /// Each correction kind, from proposal to --apply to resolution, with the log's
    /// history intact and the original cause still findable by drift.
    @Test func eachCorrectionKindResolvesItsDiscrepancy() throws {
        let snapshot = { (ts: Int64, qty: String, usdt: String) in
            #"{"type":"exchange_snapshot","positions":[{"symbol":"BTC-PERP","qty":"\#(qty)","entry_price":"100"}],"balances":[{"asset":"USDT","total":"\#(usdt)"}]}"#
        }
        struct Case {
            var name: String
            var key: String
            var lines: [String]
            var next: String
        }
        let a = "c1", b = "c2"
        let cases = [
            // The venue holds 0.005 more than the bot (a warning): adjust the position.
            Case(name: "position_adjustment", key: "position_qty_mismatch:\(a):BTC-PERP", lines: [
                Self.line(a, 1, 1_000, #"{"type":"transfer","asset":"USDT","amount":"1000","kind":"deposit"}"#),
                Self.line(a, 6, 1_500, #"{"type":"order_submitted","order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"1","price":"100","order_type":"limit"}"#),
                Self.line(a, 2, 2_000, #"{"type":"fill","fill_id":"f1","order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"1","price":"100","fee":"0","fee_asset":"USDT","liquidity":"maker"}"#),
                Self.line(a, 3, 10_000, snapshot(10_000, "1.005", "1000")),
            ], next: Self.line(a, 5, 20_000, snapshot(20_000, "1.005", "1000"))),
            // An unrecorded funding payment: adjust the balance.
            Case(name: "balance_adjustment", key: "balance_mismatch:\(b):USDT", lines: [
                Self.line(b, 1, 1_000, #"{"type":"transfer","asset":"USDT","amount":"1000","kind":"deposit"}"#),
                Self.line(b, 3, 10_000, #"{"type":"exchange_snapshot","balances":[{"asset":"USDT","total":"997.4"}]}"#),
            ], next: Self.line(b, 5, 20_000, #"{"type":"exchange_snapshot","balances":[{"asset":"USDT","total":"997.4"}]}"#)),
        ]
        for c in cases {
            let dir = TempFolder("recon-correct")
            let account = c.key.split(separator: ":")[1]
            try append(dir.path, c.lines)
            let before = try report(dir.path, String(account))
            #expect(openKeys(before).contains(c.key), "\(c.name): \(openKeys(before))")
            let dry = try CLIRunner.run(["correct", "--data", dir.path, "--account", String(account), "--json", "--key", c.key])
            #expect(dry.stdout.contains(#""type":"correction""#) && dry.stdout.contains(c.name == "position_adjustment" ? "position_adjustment" : "balance_adjustment"), "\(c.name): \(dry.stdout)")
            #expect(try events(dir.path).count == c.lines.count, "a dry run appends nothing")
            let applied = try CLIRunner.run(["correct", "--data", dir.path, "--account", String(account), "--key", c.key, "--apply", "--approved-by", "ops:test"])
            #expect(applied.status == 0, "\(applied.stderr)")
            #expect(!openKeys(try report(dir.path, String(account))).contains(c.key), "\(c.name): resolved at once")
            try append(dir.path, [c.next])
            #expect(openKeys(try report(dir.path, String(account))) == [], "\(c.name): the next snapshot is clean")
            let log = try events(dir.path)
            #expect(log.count == c.lines.count + 2 && log.filter { $0.contains(#""type":"correction""#) && $0.contains("ops:test") }.count == 1)
            // Drift at the point before the correction still names the cause.
            let drift = try CLIRunner.run(["drift", "--data", dir.path, "--account", String(account), "--at", "\(c.lines.count)", "--json"])
            #expect(drift.stdout.contains(c.key), "\(c.name): \(drift.stdout)")
        }
    }

    /// The fixture's missed fill: proposed, applied once however often asked, resolved.
    @Test func adoptingAMissedFillIsIdempotent() throws {
        let dir = TempFolder("recon-correct")
        let lines = try String(contentsOfFile: Self.fixtures + "/correction_adopts_missed_fill/events.ndjson", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        try append(dir.path, Array(lines.prefix(6)))
        #expect(try CLIRunner.run(["correct", "--data", dir.path, "--account", "bot1", "--apply"]).status != 0, "--apply needs --approved-by")
        let unknownRun = try CLIRunner.run(["correct", "--data", dir.path, "--account", "bot1", "--run", "run-000", "--apply", "--approved-by", "ops:alice"])
        #expect(unknownRun.status != 0 && unknownRun.stderr.contains("not in the audit store"), "an unknown run is refused")
        let first = try CLIRunner.run(["correct", "--data", dir.path, "--account", "bot1", "--apply", "--approved-by", "ops:alice", "--at", "6"])
        let again = try CLIRunner.run(["correct", "--data", dir.path, "--account", "bot1", "--apply", "--approved-by", "ops:alice", "--at", "6"])
        #expect(first.stderr.contains("1 correction events appended") && again.stderr.contains("0 correction events appended (1 already"), "\(first.stderr) \(again.stderr)")
        try append(dir.path, [lines[7]])
        #expect(openKeys(try report(dir.path, "bot1")) == [])
        let positions = try CLIRunner.run(["state", "--data", dir.path, "--account", "bot1", "--side", "local"])
        #expect(positions.stdout.contains("ETH-PERP *"), "what a correction built is marked synthetic")
    }

    /// A tighter position band adds exactly the position findings it should, and nothing else.
    @Test func whatIfListsExactlyWhatATighterBandAdds() throws {
        let dir = TempFolder("recon-whatif")
        let a = "w1"
        let snap = { (n: Int, ts: Int64, btc: String, eth: String) in
            Self.line(a, n, ts, #"{"type":"exchange_snapshot","positions":[{"symbol":"BTC-PERP","qty":"\#(btc)","entry_price":"100"},{"symbol":"ETH-PERP","qty":"\#(eth)","entry_price":"10"}]}"#)
        }
        try append(dir.path, [
            Self.line(a, 1, 1_000, #"{"type":"fill","fill_id":"f1","order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"1","price":"100","fee":"0","fee_asset":"USDT","liquidity":"maker"}"#),
            Self.line(a, 2, 1_000, #"{"type":"fill","fill_id":"f2","order_id":"o2","symbol":"ETH-PERP","side":"buy","qty":"2","price":"10","fee":"0","fee_asset":"USDT","liquidity":"maker"}"#),
            // BTC 0.0005 apart: under the default ignore band (0.001), over the tighter one (0.0001).
            snap(3, 10_000, "1.0005", "2"),
            // ETH 0.02 apart: critical under both.
            snap(4, 20_000, "1.0005", "2.02"),
        ])
        let config = TempFolder("recon-whatif-config")
        let tighter = config.path + "/tighter.json"
        try #"{"defaults":{"position_qty_ignore":"0.0001"}}"#.write(toFile: tighter, atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["whatif", "--data", dir.path, "--config", tighter, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(rows.count == 1, "\(result.stdout)")
        #expect(rows.first?["change"] as? String == "opens")
        #expect(rows.first?["key"] as? String == "position_qty_mismatch:w1:BTC-PERP")
        #expect(rows.first?["new_severity"] as? String == "warning" && rows.first?["first_seq"] as? Int == 3 && rows.first?["runs"] as? Int == 2)
        // The same config on both sides changes nothing.
        let same = try CLIRunner.run(["whatif", "--data", dir.path, "--config", tighter, "--base", tighter, "--json"])
        #expect(same.status == 0 && same.stdout.isEmpty)
    }

    @Test func positionsStatusAndExposure() throws {
        let dir = TempFolder("recon-ops")
        let lines = try String(contentsOfFile: Self.fixtures + "/manual_trade/events.ndjson", encoding: .utf8)
        try append(dir.path, lines.split(separator: "\n").map(String.init))
        let closed = try CLIRunner.run(["positions", "--data", dir.path, "--account", "bot1", "--closed", "--json"])
        let rows = try JSONSerialization.jsonObject(with: Data(closed.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.map { $0["match"] as? String } == ["venue only"])
        let status = try CLIRunner.run(["status", "--data", dir.path, "--json"])
        #expect(status.status == 3, "critical somewhere: exit 3")
        let accounts = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(accounts.map { $0["account"] as? String } == ["bot1"] && accounts.first?["status"] as? String == "critical")
        let exposure = try CLIRunner.run(["exposure", "--data", dir.path, "--json"])
        let assets = try JSONSerialization.jsonObject(with: Data(exposure.stdout.utf8)) as? [[String: Any]] ?? []
        let sol = assets.first { $0["asset"] as? String == "SOL" }
        #expect(sol?["local"] as? String == "0" && sol?["remote"] as? String == "40", "\(exposure.stdout)")
    }

    /// `exposure --at` reads from checkpoints and answers as the log does.
    @Test func exposureAtAPointIsTheSameWithCheckpoints() throws {
        let dir = TempFolder("recon-exposure-at")
        let generated = try CLIRunner.run(["generate", "--events", "23000", "--accounts", "3", "--seed", "4"])
        #expect(generated.status == 0)
        let file = dir.path + "/day.ndjson"
        try generated.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try CLIRunner.run(["append", "--data", dir.path + "/d", file]).status == 0)
        let args = ["exposure", "--data", dir.path + "/d", "--at", "21234", "--json"]
        let fromTheLog = try CLIRunner.run(args)
        #expect(fromTheLog.status == 0, "\(fromTheLog.stderr)")
        #expect(fromTheLog.stdout.contains("\"asset\""))
        let status = ["status", "--data", dir.path + "/d"]
        #expect(try CLIRunner.run(status).stdout.contains("checkpoints: none yet"))
        let checkpoint = try CLIRunner.run(["checkpoint", "--data", dir.path + "/d"])
        #expect(checkpoint.stdout.contains("wrote 4 checkpoint groups"), "\(checkpoint.stdout)")
        #expect(try CLIRunner.run(args).stdout == fromTheLog.stdout)
        #expect(try CLIRunner.run(status).stdout.contains("checkpoints: 4 groups, the newest at seq 20000 of 23000, every 5000 events"))
        // Denser groups from the next one on; reads answer the same.
        #expect(try CLIRunner.run(["checkpoint", "--data", dir.path + "/d", "--every", "1500"]).stdout
            .contains("wrote 2 checkpoint groups; 6 in all, every 1500 events"))
        #expect(try CLIRunner.run(args).stdout == fromTheLog.stdout)
        #expect(try CLIRunner.run(status).stdout.contains("checkpoints: 6 groups, the newest at seq 23000 of 23000, every 1500 events"))
        // The newest group as an earlier release's layout would have left it: not
        // read, and status says so until `recon checkpoint` rewrites the groups.
        do {
            let log = try EventLog(directory: dir.path + "/d/log")
            let key = CheckpointStore.key(seq: 23_000, account: "acct1")
            try log.writeDerived(into: log.checkpoints, [(key, [AccountProjection.checkpointVersion - 1, 0, 0])])
        }
        let older = try CLIRunner.run(status).stdout
        #expect(older.contains(
            "checkpoints: 6 groups written by an older release, not read (`recon checkpoint` or `recon serve` rewrites them), every 1500 events"),
            "\(older)")
        #expect(try CLIRunner.run(args).stdout == fromTheLog.stdout)
        // Rewritten from the start, all at the interval now set.
        let rewritten = try CLIRunner.run(["checkpoint", "--data", dir.path + "/d"]).stdout
        #expect(rewritten.contains("wrote 15 checkpoint groups; 15 in all, every 1500 events"), "\(rewritten)")
        #expect(try CLIRunner.run(status).stdout.contains("checkpoints: 15 groups, the newest at seq 22500 of 23000, every 1500 events"))
        #expect(try CLIRunner.run(args).stdout == fromTheLog.stdout)
    }
}
