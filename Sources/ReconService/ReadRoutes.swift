import Hummingbird
import ReconCore
import ReconStore

/// The read side: latest reports, runs, open discrepancies, state, health.
struct ReadRoutes: Sendable {
    let log: EventLog
    let state: ServiceState
    let writer: GroupCommitWriter
    /// Most entries a list answers with.
    static let maxListed = 1_000

    func latestReport(_ request: Request) -> Response {
        guard let account = request.uri.queryParameters["account"].map(String.init) else {
            return HTTPReplies.error(.badRequest, "bad_request", "query parameter account is required (accounts with runs: \(state.accounts.joined(separator: ", ")))", field: "account")
        }
        guard let json = state.latestJSON(account: account) else {
            return HTTPReplies.error(.notFound, "not_found", "no run yet for account \(account)")
        }
        return HTTPReplies.json(json)
    }

    func runs(_ request: Request) -> Response {
        let account = request.uri.queryParameters["account"].map(String.init)
        let limit = request.uri.queryParameters["limit"].flatMap { Int($0) } ?? 100
        guard limit > 0 && limit <= Self.maxListed else {
            return HTTPReplies.error(.badRequest, "bad_request", "limit must be 1...\(Self.maxListed)", field: "limit")
        }
        var w = JSONWriter()
        w.beginObject()
        w.key("runs")
        w.beginArray()
        for entry in state.runs(account: account, limit: limit) { w.raw(entry.json) }
        w.endArray()
        w.endObject()
        return HTTPReplies.json(w.bytes)
    }

    func discrepancies(_ request: Request) -> Response {
        let status = request.uri.queryParameters["status"].map(String.init) ?? "open"
        guard status == "open" else {
            return HTTPReplies.error(.badRequest, "bad_request",
                                     "status=\(status) is not served live; only status=open (history: `recon audit discrepancies`)", field: "status")
        }
        let account = request.uri.queryParameters["account"].map(String.init)
        var w = JSONWriter()
        w.beginObject()
        w.key("discrepancies")
        w.beginArray()
        for d in state.openDiscrepancies(account: account) {
            d.writeJSON(into: &w)
        }
        w.endArray()
        w.endObject()
        return HTTPReplies.json(w.bytes)
    }

    func accountState(_ request: Request) -> Response {
        guard let account = request.uri.queryParameters["account"].map(String.init) else {
            return HTTPReplies.error(.badRequest, "bad_request", "query parameter account is required", field: "account")
        }
        do {
            let last = try log.lastSeq()
            var seq = last
            if let text = request.uri.queryParameters["at_seq"] {
                guard let n = UInt64(text), n >= 1, n <= last else {
                    return HTTPReplies.error(.badRequest, "bad_request", "at_seq must be 1...\(last)", field: "at_seq")
                }
                seq = n
            }
            let projection = try CheckpointStore(log: log).projection(account: account, at: seq)
            var w = JSONWriter()
            projection.writeJSON(into: &w, side: .both, atSeq: seq)
            return HTTPReplies.json(w.bytes)
        } catch {
            return HTTPReplies.error(.internalServerError, "storage", "\(error)")
        }
    }

    func health(_ request: Request) -> Response {
        let h = state.health
        let text = "{\"status\":\"\(h.ready ? "ok" : "starting")\",\"committed_seq\":\(h.committedSeq),\"folded_seq\":\(h.foldedSeq),\"checkpoint_seq\":\(h.checkpointSeq),\"queued_events\":\(writer.depth),\"failed_runs\":\(h.failures)}"
        return HTTPReplies.json(Array(text.utf8), status: h.ready ? .ok : .serviceUnavailable)
    }
}
