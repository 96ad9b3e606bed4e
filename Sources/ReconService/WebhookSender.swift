import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Posts alert payloads to the configured webhook, retrying with backoff.
///
/// Retried: connection failures, timeouts, 429 and 5xx; other 4xx are final
/// (the receiver rejected the payload and will again). After the last attempt
/// the payload is given up and `recon_webhook_failures_total` counts it. The
/// last payload sent (with its outcome) is written to `last_payload_path`.
public struct WebhookSender: Sendable {
    public struct Policy: Sendable {
        public var attempts = 4
        public var firstBackoffMs: Int64 = 200
        public var maxBackoffMs: Int64 = 5_000
        public var timeoutMs: Int64 = 3_000

        public init() {}
    }

    public struct Outcome: Sendable {
        public var delivered: Bool
        public var attempts: Int
        public var lastStatus: Int?
        public var lastError: String?
    }

    public let url: String
    public var policy = Policy()
    public var lastPayloadPath: String?
    private let client: HTTPClient

    public init(url: String, lastPayloadPath: String?) {
        self.url = url
        self.lastPayloadPath = lastPayloadPath
        self.client = .shared
    }

    public func send(_ payload: [UInt8]) async -> Outcome {
        var outcome = Outcome(delivered: false, attempts: 0)
        var backoff = policy.firstBackoffMs
        while outcome.attempts < policy.attempts {
            outcome.attempts += 1
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "recon-serve")
            request.body = .bytes(ByteBuffer(bytes: payload))
            var retry = true
            do {
                let response = try await client.execute(request, timeout: .milliseconds(policy.timeoutMs))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                outcome.lastStatus = Int(response.status.code)
                if (200..<300).contains(response.status.code) {
                    outcome.delivered = true
                    outcome.lastError = nil
                    break
                }
                outcome.lastError = "HTTP \(response.status.code)"
                retry = response.status.code == 429 || response.status.code >= 500
            } catch {
                outcome.lastError = "\(error)"
            }
            if !retry || outcome.attempts >= policy.attempts { break }
            try? await Task.sleep(for: .milliseconds(backoff))
            backoff = min(backoff * 2, policy.maxBackoffMs)
        }
        record(payload, outcome)
        return outcome
    }

    private func record(_ payload: [UInt8], _ outcome: Outcome) {
        guard let lastPayloadPath else { return }
        var text = "{\"url\":\(jsonString(url)),\"sent_at_ms\":\(Int64(Date().timeIntervalSince1970 * 1000)),"
        text += "\"delivered\":\(outcome.delivered),\"attempts\":\(outcome.attempts),"
        text += "\"last_status\":\(outcome.lastStatus.map(String.init) ?? "null"),"
        text += "\"last_error\":\(outcome.lastError.map(jsonString) ?? "null"),\"payload\":"
        var bytes = Array(text.utf8)
        bytes += payload
        bytes += Array("}\n".utf8)
        try? ReportWriter.atomicWrite(bytes, to: lastPayloadPath)
    }

    private func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
