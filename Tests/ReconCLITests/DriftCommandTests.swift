import Foundation
import Testing
import ReconTestSupport

/// Faults injected by `recon generate` are found by `recon drift` where `generate` said.
@Suite struct DriftCommandTests {
    struct Announced {
        var kind: String
        var account: String
        var seq: Int
        var revealedAt: Int
        var subject: String
    }

    static func announcements(_ stderr: String) -> [Announced] {
        stderr.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("fault ") else { return nil }
            var fields: [String: String] = [:]
            for part in line.split(separator: " ") {
                let kv = part.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
            }
            let kind = String(line.split(separator: " ")[1])
            return Announced(kind: kind, account: fields["account"] ?? "", seq: Int(fields["seq"] ?? "") ?? -1,
                             revealedAt: Int(fields["revealed_at_seq"] ?? "") ?? -1, subject: fields["subject"] ?? "")
        }
    }

    func origins(_ data: String, account: String) throws -> [[String: Any]] {
        let result = try CLIRunner.run(["drift", "--data", data, "--account", account, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
    }

    @Test func driftFindsTheMissedFillAtSeq4000AndTheFirstSnapshotThatDisagreed() throws {
        let dir = TempFolder("recon-drift")
        let generated = try CLIRunner.run(["generate", "--events", "10000", "--seed", "7", "--faults", "missed_fill@4000"])
        let fault = try #require(Self.announcements(generated.stderr).first)
        #expect(fault.kind == "missed_fill" && fault.seq == 4000)
        _ = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data(generated.stdout.utf8))
        let found = try origins(dir.path, account: fault.account)
        // The fill's exchange record.
        let missing = try #require(found.first { ($0["type"] as? String) == "fill_missing_local" })
        let discrepancy = try #require(missing["discrepancy"] as? [String: Any])
        #expect(discrepancy["fill_id"] as? String == fault.subject)
        let venueRecord = try #require(discrepancy["remote"] as? [String: Any])
        #expect(venueRecord["fill_id"] as? String == fault.subject)
        let remoteEvent = try #require(missing["remote_event"] as? [String: Any])
        #expect(remoteEvent["type"] as? String == "exchange_fills")
        // The first snapshot that disagreed: the position it left wrong, from the seq announced.
        let position = try #require(found.first { ($0["type"] as? String)?.hasPrefix("position_") == true })
        #expect(position["first_seen_seq"] as? Int == fault.revealedAt)
        let snapshot = try #require(position["remote_event"] as? [String: Any])
        #expect(snapshot["type"] as? String == "exchange_snapshot")
        #expect(snapshot["seq"] as? Int == fault.revealedAt)
    }

    @Test func replayAndDriftFindEachInjectedFaultWhereGenerateAnnouncedIt() throws {
        let dir = TempFolder("recon-drift")
        let generated = try CLIRunner.run(["generate", "--events", "20000", "--seed", "7", "--accounts", "2",
                                           "--faults", "missed_fill,duplicate_fill,lost_order"])
        let faults = Self.announcements(generated.stderr)
        #expect(faults.count == 3)
        _ = try CLIRunner.run(["append", "--data", dir.path, "-"], stdin: Data(generated.stdout.utf8))
        let replay = try CLIRunner.run(["replay", "--data", dir.path])
        #expect(replay.status == 0, "\(replay.stderr)")
        for fault in faults {
            let found = try origins(dir.path, account: fault.account)
            let (type, idField) = switch fault.kind {
            case "missed_fill": ("fill_missing_local", "fill_id")
            case "duplicate_fill": ("fill_duplicate_conflict", "fill_id")
            default: ("order_missing_remote", "order_id")
            }
            let origin = found.first { o in
                (o["type"] as? String) == type && ((o["discrepancy"] as? [String: Any])?[idField] as? String) == fault.subject
            }
            #expect(origin != nil, "\(fault.kind) \(fault.subject) not found by drift")
            if fault.kind != "missed_fill" {
                // Missed fills show first in positions (the next snapshot), their record with the next trade window.
                #expect(origin?["first_seen_seq"] as? Int == fault.revealedAt, "\(fault.kind)")
            }
            if fault.kind == "lost_order" || fault.kind == "duplicate_fill" {
                let local = origin?["local_event"] as? [String: Any]
                #expect(local?["seq"] as? Int == fault.seq, "\(fault.kind): the local event that explains it")
            }
        }
        // The audit store holds the same story.
        let audit = try CLIRunner.run(["audit", "discrepancies", "--data", dir.path, "--status", "open", "--json"])
        for fault in faults {
            #expect(audit.stdout.contains(fault.subject), "\(fault.kind) missing from the audit store")
        }
        let runs = try CLIRunner.run(["audit", "runs", "--data", dir.path, "--status", "critical", "--limit", "5"])
        #expect(runs.stdout.contains("critical"))
    }

    @Test func diffNamesWhatOpenedBetweenTwoPoints() throws {
        let dir = TempFolder("recon-diff")
        _ = try CLIRunner.run(["append", "--data", dir.path, ReconcileCommandTests.fixtures + "/correction_adopts_missed_fill/events.ndjson"])
        let config = ReconcileCommandTests.fixtures + "/correction_adopts_missed_fill/config.json"
        let opened = try CLIRunner.run(["diff", "--data", dir.path, "--account", "bot1", "--from", "4", "--to", "6", "--config", config])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout.contains("opened") && opened.stdout.contains("fill_missing_local:bot1:f-21002"))
        let resolved = try CLIRunner.run(["diff", "--data", dir.path, "--account", "bot1", "--from", "6", "--to", "8", "--config", config])
        #expect(resolved.stdout.contains("resolved") && resolved.stdout.contains("position_qty_mismatch:bot1:ETH-PERP"), "\(resolved.stdout)")
    }
}
