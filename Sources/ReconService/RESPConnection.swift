import NIOCore
import NIOPosix

/// One Redis reply, as far as a publisher needs: simple strings, errors,
/// integers and bulk strings (arrays are not used by PUBLISH/AUTH/SELECT).
enum RESPReply: Sendable, Equatable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8]?)
}

struct RESPError: Error, CustomStringConvertible {
    let description: String
}

/// Encodes a command as a RESP array of bulk strings.
enum RESPEncoder {
    static func command(_ parts: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = Array("*\(parts.count)\r\n".utf8)
        for p in parts {
            out += Array("$\(p.count)\r\n".utf8)
            out += p
            out += [13, 10]
        }
        return out
    }
}

/// Parses replies from the front of a buffer; nil when one is not complete yet.
enum RESPParser {
    /// Longest reply line accepted; Redis's replies to our commands are short.
    static let maxLineBytes = 64 * 1024
    static let maxBulkBytes = 1 << 20

    static func parse(_ buffer: inout ByteBuffer) throws -> RESPReply? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 13) else {
            if view.count > maxLineBytes { throw RESPError(description: "reply line too long") }
            return nil
        }
        guard cr + 1 < view.endIndex else { return nil }
        guard view[cr + 1] == 10, let kind = view.first else { throw RESPError(description: "malformed reply") }
        let line = String(decoding: view[(view.startIndex + 1)..<cr], as: UTF8.self)
        let headerLength = cr + 2 - view.startIndex
        switch kind {
        case UInt8(ascii: "+"):
            buffer.moveReaderIndex(forwardBy: headerLength)
            return .simple(line)
        case UInt8(ascii: "-"):
            buffer.moveReaderIndex(forwardBy: headerLength)
            return .error(line)
        case UInt8(ascii: ":"):
            guard let n = Int64(line) else { throw RESPError(description: "bad integer reply \(line)") }
            buffer.moveReaderIndex(forwardBy: headerLength)
            return .integer(n)
        case UInt8(ascii: "$"):
            guard let n = Int(line), n >= -1, n <= maxBulkBytes else { throw RESPError(description: "bad bulk length \(line)") }
            if n == -1 {
                buffer.moveReaderIndex(forwardBy: headerLength)
                return .bulk(nil)
            }
            guard view.count >= headerLength + n + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: headerLength)
            let bytes = buffer.readBytes(length: n) ?? []
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(bytes)
        default:
            throw RESPError(description: "unsupported reply type \(Character(UnicodeScalar(kind)))")
        }
    }
}

/// Pairs each written command with its reply, in order (Redis answers in order).
final class RESPHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = (ByteBuffer, EventLoopPromise<RESPReply>)
    typealias OutboundOut = ByteBuffer

    private var buffer = ByteBuffer()
    private var waiting = CircularBuffer<EventLoopPromise<RESPReply>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let (bytes, reply) = unwrapOutboundIn(data)
        waiting.append(reply)
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        do {
            while let reply = try RESPParser.parse(&buffer) {
                guard let promise = waiting.popFirst() else { throw RESPError(description: "unexpected reply") }
                promise.succeed(reply)
            }
            buffer.discardReadBytes()
        } catch {
            failAll(error)
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RESPError(description: "connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while let p = waiting.popFirst() { p.fail(error) }
    }
}

/// A connection to Redis that sends commands and awaits their replies.
struct RESPConnection: Sendable {
    let channel: any Channel

    static func connect(host: String, port: Int, timeoutMs: Int64 = 2_000) async throws -> RESPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(timeoutMs))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RESPHandler())
                }
            }
            .connect(host: host, port: port).get()
        return RESPConnection(channel: channel)
    }

    func send(_ parts: [String]) async throws -> RESPReply {
        try await send(parts.map { Array($0.utf8) })
    }

    func send(_ parts: [[UInt8]]) async throws -> RESPReply {
        let promise = channel.eventLoop.makePromise(of: RESPReply.self)
        let bytes = ByteBuffer(bytes: RESPEncoder.command(parts))
        channel.writeAndFlush((bytes, promise)).cascadeFailure(to: promise)
        let reply = try await promise.futureResult.get()
        if case .error(let message) = reply { throw RESPError(description: "redis: \(message)") }
        return reply
    }

    func close() async {
        try? await channel.close()
    }
}
