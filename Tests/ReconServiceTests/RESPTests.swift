import NIOCore
@testable import ReconService
import Testing

struct RESPTests {
    @Test func encodesCommandsAsBulkArrays() {
        #expect(RESPEncoder.command([Array("PUBLISH".utf8), Array("c".utf8), Array("hé".utf8)])
                == Array("*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$3\r\nhé\r\n".utf8))
    }

    @Test func parsesRepliesOnlyWhenComplete() throws {
        var buffer = ByteBuffer(string: ":12\r\n+OK\r\n-ERR wrong\r\n$3\r\nabc\r\n$-1\r\n$5\r\nab")
        #expect(try RESPParser.parse(&buffer) == .integer(12))
        #expect(try RESPParser.parse(&buffer) == .simple("OK"))
        #expect(try RESPParser.parse(&buffer) == .error("ERR wrong"))
        #expect(try RESPParser.parse(&buffer) == .bulk(Array("abc".utf8)))
        #expect(try RESPParser.parse(&buffer) == .bulk(nil))
        #expect(try RESPParser.parse(&buffer) == nil)
        buffer.writeString("cde\r\n")
        #expect(try RESPParser.parse(&buffer) == .bulk(Array("abcde".utf8)))
        var bad = ByteBuffer(string: "?what\r\n")
        #expect(throws: (any Error).self) { try RESPParser.parse(&bad) }
    }

    @Test func parsesRedisURLs() throws {
        let plain = try RedisPublisher.Endpoint(url: "redis://127.0.0.1:6380")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.password == nil && plain.database == nil)
        let full = try RedisPublisher.Endpoint(url: "redis://:s%40cret@redis.local/2")
        #expect(full.port == 6379 && full.password == "s@cret" && full.database == 2)
        #expect(throws: (any Error).self) { try RedisPublisher.Endpoint(url: "http://x") }
    }
}
