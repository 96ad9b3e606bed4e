import Foundation
import NIOCore

/// Publishes to Redis channels over one lazily opened connection.
///
/// No maintained Redis client package is available to this project, so this
/// speaks the few RESP commands it needs (AUTH, SELECT, PUBLISH) over SwiftNIO.
/// A failed publish drops the connection; the next one reconnects.
public actor RedisPublisher {
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var password: String?
        public var username: String?
        public var database: Int?

        /// Parses `redis://[[user]:password@]host[:port][/db]`.
        public init(url: String) throws {
            guard let c = URLComponents(string: url), c.scheme == "redis", let host = c.host, !host.isEmpty else {
                throw RESPError(description: "redis_url \(url): expected redis://[:password@]host[:port][/db]")
            }
            self.host = host
            port = c.port ?? 6379
            password = c.password.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
            username = c.user.flatMap { $0.isEmpty ? nil : $0 }
            let path = c.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            database = path.isEmpty ? nil : Int(path)
        }
    }

    public let endpoint: Endpoint
    private var connection: RESPConnection?

    public init(endpoint: Endpoint) {
        self.endpoint = endpoint
    }

    /// Publishes `message` on `channel`; returns how many subscribers got it.
    @discardableResult
    public func publish(channel: String, message: [UInt8]) async throws -> Int64 {
        let connection = try await connected()
        do {
            let reply = try await connection.send([Array("PUBLISH".utf8), Array(channel.utf8), message])
            guard case .integer(let n) = reply else { throw RESPError(description: "unexpected reply to PUBLISH: \(reply)") }
            return n
        } catch {
            await connection.close()
            self.connection = nil
            throw error
        }
    }

    public func close() async {
        await connection?.close()
        connection = nil
    }

    private func connected() async throws -> RESPConnection {
        if let connection, connection.channel.isActive { return connection }
        let c = try await RESPConnection.connect(host: endpoint.host, port: endpoint.port)
        do {
            if let password = endpoint.password {
                _ = try await c.send(endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
            }
            if let db = endpoint.database { _ = try await c.send(["SELECT", String(db)]) }
        } catch {
            await c.close()
            throw error
        }
        connection = c
        return c
    }
}
