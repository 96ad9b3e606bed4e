import Foundation
import Testing
import ReconTestSupport

/// The live service as a bot and an operator see it: a real `recon serve`
/// process, a real `redis-server`, a local webhook receiver.
@Suite(.serialized)
struct ServeEndToEndTests {
    static func fixtureLines(_ name: String) throws -> [String] {
        try String(contentsOfFile: fixturesFolder + "/\(name)/events.ndjson", encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    @Test func botAppendsFixtureAndAlertsArriveEverywhere() throws {
        let folder = TempFolder("recon-serve-e2e")
        let redis = try RedisProcess(folder: folder.path)
        let hook = try WebhookReceiver(failFirst: 1)
        let subscriber = try RedisSubscriber(port: redis.port, channels: ["reconciliation:result", "reconciliation:discrepancy"])
        let config = """
            {"alerts": {"redis_url": "redis://127.0.0.1:\(redis.port)", "webhook_url": "\(hook.url)", "min_severity": "warning"},
             "service": {"post_fill_delay_ms": 100, "interval_s": 3600}}
            """
        let server = try ServerProcess(folder: folder.path, config: config)

        // A bot-like client: the fixture in small batches, in order.
        let lines = try Self.fixtureLines("missed_fill")
        var seqs: [Int] = []
        for start in stride(from: 0, to: lines.count, by: 3) {
            let batch = lines[start..<min(start + 3, lines.count)].joined(separator: "\n") + "\n"
            let reply = try server.post("/v1/events", batch, headers: ["Content-Type": "application/x-ndjson"])
            #expect(reply.status == 200, "\(reply.text)")
            let results = try reply.json()["results"] as? [[String: Any]] ?? []
            seqs += results.compactMap { $0["seq"] as? Int }
        }
        #expect(seqs == Array(1...lines.count))

        // The snapshot's run is the latest report; it names the missed fill.
        var latest: [String: Any] = [:]
        try eventually("the run at the last seq") {
            let reply = try server.get("/v1/reports/latest?account=bot1")
            guard reply.status == 200 else { return false }
            latest = try reply.json()
            return latest["at_seq"] as? Int == lines.count
        }
        let runId = try #require(latest["run_id"] as? String)
        let types = (latest["discrepancies"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
        #expect(types.contains("fill_missing_local"))
        #expect(latest["status"] as? String == "critical")

        // Redis: the result and each discrepancy, with the run id.
        try eventually("redis messages for \(runId)") {
            subscriber.received("reconciliation:result").contains { $0.contains(runId) }
                && subscriber.received("reconciliation:discrepancy").filter { $0.contains(runId) }.count == types.count
        }
        let result = try #require(subscriber.received("reconciliation:result").first { $0.contains(runId) })
        let resultJSON = try #require(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
        #expect(resultJSON["account_id"] as? String == "bot1")
        #expect(resultJSON["is_clean"] as? Bool == false)
        #expect(resultJSON["discrepancy_count"] as? Int == types.count)
        #expect(subscriber.received("reconciliation:discrepancy").contains { $0.contains("fill_missing_local") && $0.contains(runId) })

        // Webhook: the first attempt fails (500), a retry delivers; the last payload is on disk.
        try eventually("the webhook to receive \(runId)") { hook.received.contains { $0.contains(runId) } }
        let reports = server.data + "/reports"
        try eventually("webhook_last.json") {
            let text = (try? String(contentsOfFile: reports + "/webhook_last.json", encoding: .utf8)) ?? ""
            return text.contains("\"delivered\":true")
        }

        // Metrics show the divergences and the open discrepancy.
        let metrics = try server.get("/metrics", token: nil).text
        #expect(metrics.contains("recon_divergence_total{type=\"fill_missing_local\"}"))
        #expect(metrics.contains("recon_open_discrepancies{type=\"fill_missing_local\",severity=\"critical\"} 1"))
        #expect(metrics.contains("recon_events_appended_total{type=\"fill\"} 2"))
        #expect(metrics.contains("recon_runs_total{status=\"critical\"}"))

        // Open discrepancies and runs.
        let open = try server.get("/v1/discrepancies?status=open").json()["discrepancies"] as? [[String: Any]] ?? []
        #expect(open.contains { $0["type"] as? String == "fill_missing_local" })
        let runs = try server.get("/v1/runs?account=bot1").json()["runs"] as? [[String: Any]] ?? []
        #expect(runs.contains { $0["run_id"] as? String == runId })

        // latest.json is what `recon reconcile --json` says on the same data.
        try eventually("post-fill runs to settle") {
            let triggers = (try server.get("/v1/runs?account=bot1").json()["runs"] as? [[String: Any]] ?? [])
                .compactMap { ($0["context"] as? [String: Any])?["trigger"] as? String }
            return triggers.contains("post_fill")
        }
        // The post-fill run came after; compare the snapshot run's own file and latest.json of a fresh canonical run.
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: reports + "/bot1").first { $0.contains(runId) })
        let served = try String(contentsOfFile: reports + "/bot1/" + file, encoding: .utf8)
        let cli = try runRecon(["reconcile", "--data", server.data, "--account", "bot1", "--at", "\(lines.count)", "--json",
                                "--config", folder.path + "/config-serve.json"], folder: folder.path)
        #expect(cli.status == 3, "\(cli.stderr)")
        #expect(try Self.withoutDuration(served) == Self.withoutDuration(cli.stdout))

        // An on-demand run is a recon_requested event; latest.json then equals `recon reconcile` at the log's end.
        let onDemand = try server.post("/v1/reconcile", #"{"account":"bot1","requested_by":"test"}"#)
        #expect(onDemand.status == 200, "\(onDemand.text)")
        let onDemandJSON = try onDemand.json()
        #expect((onDemandJSON["context"] as? [String: Any])?["trigger"] as? String == "on_demand")
        try eventually("latest.json to be the on-demand run") {
            let text = (try? String(contentsOfFile: reports + "/latest.json", encoding: .utf8)) ?? ""
            return text.contains(onDemandJSON["run_id"] as! String)
        }
        let cliEnd = try runRecon(["reconcile", "--data", server.data, "--account", "bot1", "--json",
                                   "--config", folder.path + "/config-serve.json"], folder: folder.path)
        let latestFile = try String(contentsOfFile: reports + "/latest.json", encoding: .utf8)
        #expect(try Self.withoutDuration(latestFile) == Self.withoutDuration(cliEnd.stdout))

        #expect(server.stop() == 0)
    }

    static func withoutDuration(_ json: String) throws -> NSDictionary {
        guard var o = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { throw TestError("not JSON: \(json)") }
        o.removeValue(forKey: "duration_ms")
        return o as NSDictionary
    }

    @Test func alertTestSendsThroughBothSinksWithoutALog() throws {
        let folder = TempFolder("recon-alert-test")
        let redis = try RedisProcess(folder: folder.path)
        let hook = try WebhookReceiver()
        let subscriber = try RedisSubscriber(port: redis.port, channels: ["reconciliation:result", "reconciliation:discrepancy"])
        let configPath = folder.path + "/config.json"
        try """
            {"alerts": {"redis_url": "redis://127.0.0.1:\(redis.port)", "webhook_url": "\(hook.url)", "min_severity": "critical"}}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let run = try runRecon(["alert", "test", "--config", configPath, "--severity", "critical", "--report-dir", folder.path + "/r"],
                               folder: folder.path)
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
        try eventually("redis messages") {
            !subscriber.received("reconciliation:result").isEmpty
                && subscriber.received("reconciliation:discrepancy").contains { $0.contains("position_missing_local") }
        }
        #expect(hook.received.count == 1)
        #expect(hook.received.first?.contains("recon-alert-test") == true)
        #expect(FileManager.default.fileExists(atPath: folder.path + "/r/webhook_last.json"))
        #expect(!FileManager.default.fileExists(atPath: folder.path + "/recon-data"))

        // A sink that is down makes the command fail loudly.
        try """
            {"alerts": {"webhook_url": "http://127.0.0.1:\(TestSocket.freePort())/none"}}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let down = try runRecon(["alert", "test", "--config", configPath, "--severity", "warning"], folder: folder.path)
        #expect(down.status == 1)
        #expect(down.stdout.contains("FAILED"))
    }
}
