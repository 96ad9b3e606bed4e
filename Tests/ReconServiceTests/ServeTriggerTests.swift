import Foundation
import Testing
import ReconTestSupport

/// When runs happen: after fills (debounced), periodically, at startup, on demand.
@Suite(.serialized)
struct ServeTriggerTests {
    static func runs(_ server: ServerProcess) throws -> [[String: Any]] {
        try server.get("/v1/runs?account=bot1&limit=1000").json()["runs"] as? [[String: Any]] ?? []
    }

    static func context(_ run: [String: Any]) -> [String: Any] { run["context"] as? [String: Any] ?? [:] }

    static func fill(_ n: Int, order: String) -> String {
        #"{"type":"fill","id":"f-ev-\#(n)","account":"bot1","ts_ms":\#(1_763_000_000_000 + n * 10),"fill_id":"fill-\#(n)","order_id":"\#(order)","symbol":"BTC-PERP","side":"buy","qty":"0.001","price":"50000","fee":"0.01","fee_asset":"USDT","liquidity":"maker"}"#
    }

    @Test func postFillIsDebouncedPeriodicRunsOnlyWithNewsAndStartupRunsEachAccount() throws {
        let folder = TempFolder("recon-serve-triggers")
        let config = #"{"service": {"post_fill_delay_ms": 400, "interval_s": 1}}"#
        var server = try ServerProcess(folder: folder.path, config: config)
        let order = #"{"type":"order_submitted","id":"o-ev","account":"bot1","ts_ms":1763000000000,"order_id":"o1","symbol":"BTC-PERP","side":"buy","qty":"1","price":"50000","order_type":"limit","post_only":true,"reduce_only":false}"#
        #expect(try server.post("/v1/events", order + "\n" + Self.fill(1, order: "o1")).status == 200)
        #expect(try server.post("/v1/events", Self.fill(2, order: "o1")).status == 200)
        #expect(try server.post("/v1/events", Self.fill(3, order: "o1")).status == 200)

        // One post-fill run for the burst, with the last fill in its context.
        try eventually("a post-fill run") { try Self.runs(server).contains { Self.context($0)["trigger"] as? String == "post_fill" } }
        usleep(600_000)
        let postFill = try Self.runs(server).filter { Self.context($0)["trigger"] as? String == "post_fill" }
        #expect(postFill.count == 1)
        #expect(Self.context(postFill[0])["fill_id"] as? String == "fill-3")
        #expect(Self.context(postFill[0])["order_id"] as? String == "o1")
        #expect(Self.context(postFill[0])["symbol"] as? String == "BTC-PERP")
        #expect(postFill[0]["at_seq"] as? Int == 4)

        // Periodic: a run only once something new arrived.
        let transfer = #"{"type":"transfer","id":"t-1","account":"bot1","ts_ms":1763000001000,"asset":"USDT","amount":"100","kind":"deposit"}"#
        #expect(try server.post("/v1/events", transfer).status == 200)
        try eventually("a periodic run at seq 5", timeoutS: 5) {
            try Self.runs(server).contains { Self.context($0)["trigger"] as? String == "periodic" && $0["at_seq"] as? Int == 5 }
        }
        usleep(2_200_000)
        #expect(try Self.runs(server).filter { Self.context($0)["trigger"] as? String == "periodic" }.count == 1)

        // A snapshot runs at once, as recon reconcile would at that seq.
        let snapshot = #"{"type":"exchange_snapshot","id":"s-1","account":"bot1","ts_ms":1763000002000,"positions":[{"symbol":"BTC-PERP","qty":"0.003","entry_price":"50000"}]}"#
        #expect(try server.post("/v1/events", snapshot).status == 200)
        try eventually("a snapshot run") { try Self.runs(server).contains { Self.context($0)["trigger"] as? String == "snapshot" && $0["at_seq"] as? Int == 6 } }

        // Restart: one startup run per account at the log's end.
        #expect(server.stop() == 0)
        server = try ServerProcess(folder: folder.path, config: config, name: "again")
        try eventually("a startup run") { try Self.runs(server).contains { Self.context($0)["trigger"] as? String == "startup" && $0["at_seq"] as? Int == 6 } }

        // State at a point, through the API.
        let state = try server.get("/v1/state?account=bot1&at_seq=2").json()
        #expect(state.description.contains("o1"))
        #expect(try server.get("/v1/state?account=bot1&at_seq=99").status == 400)
        #expect(server.stop() == 0)
    }

    /// Start-up folds the existing log on the engine's thread: the service
    /// listens and takes events at once, `/healthz` shows the engine catching up,
    /// and an event taken meanwhile is folded after the log, as a live one.
    @Test func startupTakesEventsWhileTheEngineCatchesUp() throws {
        let folder = TempFolder("recon-serve-catchup")
        let generated = try runRecon(["generate", "--events", "40000", "--seed", "5"], folder: folder.path)
        #expect(generated.status == 0)
        try generated.stdout.write(toFile: folder.path + "/day.ndjson", atomically: true, encoding: .utf8)
        #expect(try runRecon(["append", "--data", folder.path + "/data", folder.path + "/day.ndjson"], folder: folder.path).status == 0)

        let server = try ServerProcess(folder: folder.path)
        let first = try server.get("/healthz", token: nil)
        #expect(first.status == 200)
        let health = try first.json()
        #expect(health["status"] as? String == "ok")
        #expect(health["committed_seq"] as? Int == 40_000)
        // 40,000 events with their canonical runs take this debug build seconds
        // to fold; the first answer comes well before.
        #expect((health["folded_seq"] as? Int ?? .max) < 40_000)
        let transfer = #"{"type":"transfer","id":"late-1","account":"acct1","ts_ms":1900000000000,"asset":"USDT","amount":"5","kind":"deposit"}"#
        let posted = try server.post("/v1/events", transfer)
        #expect(posted.status == 200)
        #expect(posted.text.contains("40001"))

        try eventually("the engine to fold the event posted during start-up", timeoutS: 120) {
            try server.get("/healthz", token: nil).json()["folded_seq"] as? Int == 40_001
        }
        let runs = try server.get("/v1/runs?account=acct1&limit=1000").json()["runs"] as? [[String: Any]] ?? []
        #expect(runs.contains { Self.context($0)["trigger"] as? String == "startup" && $0["at_seq"] as? Int == 40_000 })
        #expect(server.stop() == 0)
    }

    /// `auto_correct`: a missed fill within the limits is adopted by the service
    /// itself, once, however many runs propose it; a larger one is left to an operator.
    @Test func autoCorrectAdoptsASmallMissedFillOnce() throws {
        let folder = TempFolder("recon-serve-autocorrect")
        let config = #"{"defaults": {"auto_correct": true, "max_auto_correction_size": "0.01", "max_auto_correction_amount": "1000"}, "service": {"post_fill_delay_ms": 100, "interval_s": 1}}"#
        let server = try ServerProcess(folder: folder.path, config: config)
        let t0: Int64 = 1_763_000_000_000
        func venueFill(_ id: String, qty: String, ts: Int64) -> String {
            #"{"fill_id":"\#(id)","order_id":"m-\#(id)","symbol":"BTC-PERP","side":"buy","qty":"\#(qty)","price":"50000","fee":"0.01","fee_asset":"USDT","liquidity":"taker","ts_ms":\#(ts)}"#
        }
        let history = #"{"type":"exchange_fills","id":"h-1","account":"bot1","ts_ms":\#(t0 + 60_000),"from_ms":\#(t0),"to_ms":\#(t0 + 60_000),"fills":[\#(venueFill("small", qty: "0.001", ts: t0 + 10_000)),\#(venueFill("large", qty: "0.5", ts: t0 + 20_000))]}"#
        #expect(try server.post("/v1/events", history).status == 200)
        let corrections = { () throws -> [String] in
            try runRecon(["events", "--data", server.data, "--type", "correction"], folder: folder.path).stdout
                .split(separator: "\n").map(String.init)
        }
        try eventually("the small fill adopted") { try corrections().count == 1 }
        // Later runs (a snapshot, periodic) do not append it again; the large one stays for an operator.
        let snapshot = #"{"type":"exchange_snapshot","id":"s-1","account":"bot1","ts_ms":\#(t0 + 61_000),"positions":[{"symbol":"BTC-PERP","qty":"0.501","entry_price":"50000"}]}"#
        #expect(try server.post("/v1/events", snapshot).status == 200)
        usleep(1_500_000)
        let applied = try corrections()
        #expect(applied.count == 1)
        #expect(applied.first?.contains(#""fill_id":"small""#) == true && applied.first?.contains(#""approved_by":"auto_correct""#) == true)
        let open = try server.get("/v1/discrepancies?status=open").json().description
        #expect(open.contains("fill_missing_local:bot1:large") && !open.contains("fill_missing_local:bot1:small"), "\(open)")
        #expect(server.stop() == 0)
    }

    /// A log only `recon serve` appends to gets checkpoints in the background,
    /// spaced by the data folder's interval, and `/healthz` says how far they are.
    @Test func serveWritesCheckpointsInTheBackground() throws {
        let folder = TempFolder("recon-serve-checkpoints")
        var server = try ServerProcess(folder: folder.path)
        #expect(server.stop() == 0)
        let setting = try ChildProcess(reconBinary, ["checkpoint", "--data", server.data, "--every", "100"], folder: folder.path, name: "every")
        #expect(setting.wait(timeoutS: 30) == 0, "\(setting.stderr)")
        #expect(setting.stdout.contains("every 100 events"), "\(setting.stdout)")

        server = try ServerProcess(folder: folder.path, name: "again")
        #expect(try server.get("/healthz").json()["checkpoint_seq"] as? Int == 0)
        for batch in 0..<7 {
            let lines = (0..<50).map { i -> String in
                let n = batch * 50 + i
                return #"{"type":"transfer","id":"t-\#(n)","account":"bot1","ts_ms":\#(1_763_000_000_000 + n),"asset":"USDT","amount":"1","kind":"deposit"}"#
            }
            #expect(try server.post("/v1/events", lines.joined(separator: "\n")).status == 200)
        }
        try eventually("checkpoints up to seq 300", timeoutS: 20) { try server.get("/healthz").json()["checkpoint_seq"] as? Int == 300 }
        // Metrics: how far the log runs past the newest group (under an interval), no failure.
        let metrics = try server.get("/metrics", token: nil).text.split(separator: "\n")
        let lag = metrics.first { $0.hasPrefix("recon_checkpoint_lag_events ") }.flatMap { Double($0.split(separator: " ")[1]) }
        #expect(lag.map { $0 >= 0 && $0 < 100 } == true, "\(String(describing: lag))")
        #expect(metrics.contains("recon_checkpoint_failures_total 0"))
        // The state read starts from the group at 300 and agrees with the log.
        let state = try server.get("/v1/state?account=bot1&at_seq=349").json().description
        #expect(state.contains("349"), "\(state)")
        #expect(server.stop() == 0)
        // A restart reports the groups there are before anything new is committed.
        server = try ServerProcess(folder: folder.path, name: "third")
        try eventually("checkpoint_seq 300 after a restart", timeoutS: 20) { try server.get("/healthz").json()["checkpoint_seq"] as? Int == 300 }
        #expect(server.stop() == 0)
        let after = try ChildProcess(reconBinary, ["checkpoint", "--data", server.data], folder: folder.path, name: "after")
        #expect(after.wait(timeoutS: 30) == 0)
        #expect(after.stdout.contains("wrote 0 checkpoint groups; 3 in all, every 100 events"), "\(after.stdout)")
    }
}
