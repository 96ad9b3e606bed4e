import GRDB
public import ReconCore

/// Run history and discrepancy lifecycles in SQLite (`<data>/audit.sqlite`).
///
/// Derived data: everything here comes from replaying the log under a config,
/// so `recon audit rebuild` can always recreate it. Rows are tagged with the
/// config hash; canonical rows are the trigger-point timeline, ad-hoc rows are
/// one-off runs (`recon reconcile`, the service's periodic runs) that see the
/// timeline without becoming part of it.
public final class AuditStore: @unchecked Sendable {
    let queue: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        queue = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    run_id TEXT NOT NULL,
                    config_hash TEXT NOT NULL,
                    account TEXT NOT NULL,
                    at_seq INTEGER NOT NULL,
                    at_ms INTEGER NOT NULL,
                    trigger TEXT NOT NULL,
                    status TEXT NOT NULL,
                    discrepancy_count INTEGER NOT NULL,
                    impact_total TEXT NOT NULL,
                    canonical INTEGER NOT NULL,
                    report TEXT NOT NULL,
                    PRIMARY KEY (run_id, canonical)
                );
                CREATE INDEX runs_by_point ON runs (config_hash, account, at_seq);
                CREATE INDEX runs_by_time ON runs (at_ms);
                CREATE TABLE lifecycle (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    config_hash TEXT NOT NULL,
                    account TEXT NOT NULL,
                    key TEXT NOT NULL,
                    type TEXT NOT NULL,
                    transition TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    at_seq INTEGER NOT NULL,
                    at_ms INTEGER NOT NULL,
                    first_seen_seq INTEGER NOT NULL,
                    run_id TEXT NOT NULL,
                    message TEXT NOT NULL,
                    discrepancy TEXT
                );
                CREATE INDEX lifecycle_by_key ON lifecycle (config_hash, account, key, at_seq);
                CREATE TABLE replays (
                    config_hash TEXT PRIMARY KEY,
                    last_seq INTEGER NOT NULL,
                    chain TEXT NOT NULL
                );
                """)
        }
        return m
    }

    /// Deletes the canonical timeline of one config (before a replay rewrites it).
    public func clearTimeline(configHash: String) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM runs WHERE config_hash = ? AND canonical = 1", arguments: [configHash])
            try db.execute(sql: "DELETE FROM lifecycle WHERE config_hash = ?", arguments: [configHash])
            try db.execute(sql: "DELETE FROM replays WHERE config_hash = ?", arguments: [configHash])
        }
    }

    /// Records a batch of runs in one transaction. Canonical runs keep a summary
    /// (the report without its discrepancy list) and each lifecycle transition
    /// keeps the discrepancy as it stood, so storage grows with what changes, not
    /// with how long something stays wrong. Ad-hoc runs keep their full report.
    public func record(_ outcomes: [RunOutcome], canonical: Bool) throws {
        guard !outcomes.isEmpty else { return }
        try queue.write { db in
            for o in outcomes {
                let r = o.report
                try db.execute(sql: """
                    INSERT OR REPLACE INTO runs (run_id, config_hash, account, at_seq, at_ms, trigger, status, discrepancy_count,
                                                 impact_total, canonical, report)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.runId, r.configHash, r.point.account, Int64(r.point.atSeq), r.point.atMs,
                                     r.point.context.trigger.rawValue, r.statusText, r.discrepancies.count,
                                     r.impactTotalQuote.description, canonical ? 1 : 0,
                                     String(decoding: canonical ? r.summaryJSON() : r.json(), as: UTF8.self)])
                for e in o.lifecycle where canonical {
                    try db.execute(sql: """
                        INSERT INTO lifecycle (config_hash, account, key, type, transition, severity, at_seq, at_ms, first_seen_seq, run_id,
                                               message, discrepancy)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [r.configHash, e.account, e.key, e.type.rawValue, e.transition.rawValue, e.severity.rawValue,
                                         Int64(e.atSeq), r.point.atMs, Int64(e.firstSeenSeq), e.runId, e.message,
                                         e.discrepancy.map { d -> String in
                                             var w = JSONWriter()
                                             d.writeJSON(into: &w)
                                             return w.text
                                         }])
                }
            }
        }
    }

    /// Marks the timeline of a config complete up to `seq` (with the chain there,
    /// so a log that changed under it is detected).
    public func markReplayed(configHash: String, lastSeq: UInt64, chain: UInt64) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO replays (config_hash, last_seq, chain) VALUES (?, ?, ?)",
                           arguments: [configHash, Int64(lastSeq), String(chain, radix: 16)])
        }
    }

    public func replayedUpTo(configHash: String) throws -> (seq: UInt64, chain: UInt64)? {
        try queue.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT last_seq, chain FROM replays WHERE config_hash = ?", arguments: [configHash]) else { return nil }
            let seq: Int64 = row["last_seq"]
            let chain: String = row["chain"]
            return (UInt64(seq), UInt64(chain, radix: 16) ?? 0)
        }
    }

    /// A stored run.
    public struct RunRow: Sendable {
        public var runId: String
        public var account: String
        public var atSeq: UInt64
        public var atMs: Int64
        public var trigger: String
        public var status: String
        public var discrepancyCount: Int
        public var impactTotal: String
        public var canonical: Bool
        public var report: String

        init(_ row: Row) {
            runId = row["run_id"]
            account = row["account"]
            atSeq = UInt64(row["at_seq"] as Int64)
            atMs = row["at_ms"]
            trigger = row["trigger"]
            status = row["status"]
            discrepancyCount = row["discrepancy_count"]
            impactTotal = row["impact_total"]
            canonical = (row["canonical"] as Int) == 1
            report = row["report"]
        }
    }

    public func runs(configHash: String? = nil, account: String? = nil, status: String? = nil, sinceMs: Int64? = nil,
                     limit: Int = 1_000) throws -> [RunRow] {
        try queue.read { db in
            var sql = "SELECT * FROM runs WHERE 1 = 1"
            var args: [any DatabaseValueConvertible] = []
            if let configHash { sql += " AND config_hash = ?"; args.append(configHash) }
            if let account { sql += " AND account = ?"; args.append(account) }
            if let status { sql += " AND status = ?"; args.append(status) }
            if let sinceMs { sql += " AND at_ms >= ?"; args.append(sinceMs) }
            sql += " ORDER BY at_seq, account, canonical DESC LIMIT ?"
            args.append(limit)
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map(RunRow.init)
        }
    }

    /// A stored run by id (the canonical one when both kinds exist).
    public func run(id: String) throws -> RunRow? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE run_id = ? ORDER BY canonical DESC LIMIT 1", arguments: [id]).map(RunRow.init)
        }
    }

    /// One discrepancy's life: each interval it was open.
    public struct Interval: Sendable {
        public var account: String
        public var key: String
        public var type: String
        public var severity: String
        public var openedSeq: UInt64
        public var openedMs: Int64
        public var escalatedSeq: UInt64?
        public var resolvedSeq: UInt64?
        public var resolvedMs: Int64?
        public var openedRunId: String
        public var message: String
        public var isOpen: Bool { resolvedSeq == nil }
    }

    /// Lifecycle intervals for a config, in order of opening.
    public func intervals(configHash: String, account: String? = nil, sinceMs: Int64? = nil) throws -> [Interval] {
        let rows = try queue.read { db in
            var sql = "SELECT * FROM lifecycle WHERE config_hash = ?"
            var args: [any DatabaseValueConvertible] = [configHash]
            if let account { sql += " AND account = ?"; args.append(account) }
            sql += " ORDER BY id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args))
        }
        var open: [String: Int] = [:]
        var out: [Interval] = []
        for row in rows {
            let account: String = row["account"], key: String = row["key"], transition: String = row["transition"]
            let id = "\(account)\u{1}\(key)"
            let seq = UInt64(row["at_seq"] as Int64)
            switch transition {
            case Transition.opened.rawValue:
                open[id] = out.count
                out.append(Interval(account: account, key: key, type: row["type"], severity: row["severity"], openedSeq: seq,
                                    openedMs: row["at_ms"], escalatedSeq: nil, resolvedSeq: nil, resolvedMs: nil,
                                    openedRunId: row["run_id"], message: row["message"]))
            case Transition.escalated.rawValue:
                if let i = open[id] {
                    out[i].escalatedSeq = seq
                    out[i].severity = row["severity"]
                }
            default:
                if let i = open.removeValue(forKey: id) {
                    out[i].resolvedSeq = seq
                    out[i].resolvedMs = row["at_ms"]
                }
            }
        }
        if let sinceMs { out = out.filter { $0.openedMs >= sinceMs || ($0.resolvedMs ?? .max) >= sinceMs } }
        return out
    }
}
