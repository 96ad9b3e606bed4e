import Foundation
import Hummingbird
import NIOCore
import ReconCore
import ReconStore

/// A value, or the answer to give instead.
enum Attempt<Value: Sendable>: Sendable {
    case value(Value)
    case reply(Response)
}

/// `POST /v1/events` and `POST /v1/reconcile`: the write side of the API.
struct IngestRoutes: Sendable {
    let options: ServeOptions
    let writer: GroupCommitWriter
    let state: ServiceState
    let metrics: ServiceMetrics

    /// Reads the body within the size and time limits, or answers 413 / 408.
    func readBody(_ request: Request) async -> Attempt<[UInt8]> {
        let limit = options.bodyLimitBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            return .reply(tooLarge(limit))
        }
        let timeout = options.bodyTimeoutMs
        // Read in a child task raced with a timer: a client that stalls mid-body
        // gets 408 instead of holding a request slot forever.
        return await withTaskGroup(of: Attempt<[UInt8]>?.self) { group in
            group.addTask {
                var bytes: [UInt8] = []
                do {
                    for try await chunk in request.body {
                        if bytes.count + chunk.readableBytes > limit { return .reply(tooLarge(limit)) }
                        bytes.append(contentsOf: chunk.readableBytesView)
                    }
                } catch {
                    if Task.isCancelled { return nil }
                    return .reply(HTTPReplies.error(.badRequest, "bad_request", "could not read the request body: \(error)"))
                }
                return .value(bytes)
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(timeout))
                if Task.isCancelled { return nil }
                return .reply(HTTPReplies.error(.requestTimeout, "timeout", "the request body did not arrive within \(timeout) ms"))
            }
            var answer: Attempt<[UInt8]> = .reply(HTTPReplies.error(.requestTimeout, "timeout", "no body"))
            for await outcome in group {
                if let outcome {
                    answer = outcome
                    break
                }
            }
            group.cancelAll()
            return answer
        }
    }

    private func tooLarge(_ limit: Int) -> Response {
        HTTPReplies.error(.contentTooLarge, "too_large", "the request body is larger than \(limit) bytes (service.body_limit_bytes); split the batch")
    }

    func postEvents(_ request: Request) async -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        let body: [UInt8]
        switch await readBody(request) {
        case .reply(let response): return response
        case .value(let bytes): body = bytes
        }
        let decoded: [DecodedEvent]
        do {
            decoded = try body.withUnsafeBytes { try NDJSON.decodeBatch($0, maxLineBytes: options.maxLineBytes) }
        } catch let error as EventInputError {
            return HTTPReplies.error(.badRequest, "bad_request", "\(error); nothing of this request was stored",
                                     line: error.line > 0 ? error.line : nil, field: error.field)
        } catch {
            return HTTPReplies.error(.badRequest, "bad_request", "\(error)")
        }
        if decoded.isEmpty {
            return HTTPReplies.error(.badRequest, "bad_request", "the body holds no events (send NDJSON or a JSON array)")
        }
        let inputs = decoded.map { AppendInput(event: $0.event, ingestMs: $0.ingestMs, line: $0.line) }
        let result: AppendResult
        switch await submit(inputs) {
        case .reply(let response): return response
        case .value(let r): result = r
        }
        metrics.recordAppendLatency(nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        return HTTPReplies.json(Self.resultJSON(result))
    }

    /// Submits to the group-commit writer and maps its failures to answers.
    func submit(_ inputs: [AppendInput]) async -> Attempt<AppendResult> {
        do {
            return .value(try await writer.submit(inputs))
        } catch IngestError.busy(let depth) {
            return .reply(HTTPReplies.error(.serviceUnavailable, "busy", "the write queue is full (\(depth) events waiting); retry after 1 s",
                                              headers: [.retryAfter: "1"]))
        } catch IngestError.stopping {
            return .reply(HTTPReplies.error(.serviceUnavailable, "stopping", "the service is shutting down; retry against the next instance",
                                              headers: [.retryAfter: "2"]))
        } catch IngestError.store(let e) {
            switch e.kind {
            case .conflict:
                return .reply(HTTPReplies.error(.conflict, "conflict", e.message, line: e.line, field: "id", seq: e.seq))
            case .badInput:
                return .reply(HTTPReplies.error(.badRequest, "bad_request", e.message, line: e.line, field: e.message.contains("ingest_ms") ? "ingest_ms" : nil))
            case .corrupt, .unsupportedVersion, .storage:
                return .reply(HTTPReplies.error(.internalServerError, "storage", "\(e.message); nothing of this request was stored"))
            }
        } catch {
            return .reply(HTTPReplies.error(.internalServerError, "internal", "\(error)"))
        }
    }

    static func resultJSON(_ r: AppendResult) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("appended")
        w.int(r.appended)
        w.key("duplicates")
        w.int(r.duplicates)
        w.key("first_seq")
        if let s = r.firstSeq { w.uint(s) } else { w.null() }
        w.key("last_seq")
        if let s = r.lastSeq { w.uint(s) } else { w.null() }
        w.key("results")
        w.beginArray()
        for (seq, dup) in zip(r.seqs, r.duplicate) {
            w.beginObject()
            w.key("seq")
            w.uint(seq)
            w.key("duplicate")
            w.bool(dup)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// `POST /v1/reconcile {"account": A, "requested_by": who, "id": optional}`:
    /// appends a `recon_requested` event (so replay repeats the run), waits for
    /// the engine's run at it and answers with the report, or 202 with the seq.
    func postReconcile(_ request: Request) async -> Response {
        let body: [UInt8]
        switch await readBody(request) {
        case .reply(let response): return response
        case .value(let bytes): body = bytes
        }
        guard case .object(let o)? = try? body.withUnsafeBufferPointer({ try JSONReader.parse($0) }) else {
            return HTTPReplies.error(.badRequest, "bad_request", "expected a JSON object {\"account\": …, \"requested_by\": …}")
        }
        guard case .string(let account)? = o["account"], !account.isEmpty else {
            return HTTPReplies.error(.badRequest, "bad_request", "field \"account\" is required (a string)", field: "account")
        }
        var requestedBy = "api"
        if let v = o["requested_by"] {
            guard case .string(let s) = v else { return HTTPReplies.error(.badRequest, "bad_request", "expected a string", field: "requested_by") }
            requestedBy = s
        }
        var id = "recon-requested-\(UUID().uuidString.lowercased())"
        if let v = o["id"] {
            guard case .string(let s) = v else { return HTTPReplies.error(.badRequest, "bad_request", "expected a string", field: "id") }
            id = s
        }
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "recon_requested")
        w.field("id", id)
        w.field("account", account)
        w.key("ts_ms")
        w.int(wallClockMs())
        w.field("requested_by", requestedBy)
        w.endObject()
        let decoded: [DecodedEvent]
        do {
            decoded = try w.bytes.withUnsafeBytes { try NDJSON.decodeBatch($0) }
        } catch {
            return HTTPReplies.error(.badRequest, "bad_request", "\(error)")
        }
        let seq: UInt64
        switch await submit([AppendInput(event: decoded[0].event, line: 1)]) {
        case .reply(let response): return response
        case .value(let r): seq = r.seqs[0]
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(options.reconcileWaitMs) * 1_000_000
        while DispatchTime.now().uptimeNanoseconds < deadline {
            if let report = state.onDemandReport(seq: seq) { return HTTPReplies.json(report) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return HTTPReplies.json(Array("{\"status\":\"pending\",\"seq\":\(seq)}".utf8), status: .accepted)
    }
}
