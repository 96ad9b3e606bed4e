import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One keep-alive HTTP/1.1 connection over a blocking socket: the cheapest
/// client there is, so the benchmark measures the server and not the client
/// (both share the machine's cores).
final class BenchHTTPConnection {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            close(fd)
            throw CLIError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// POSTs `body` and returns the status once the whole response is read.
    func post(_ path: String, body: [UInt8]) throws -> Int {
        let head = Array("POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        try send(head + body)
        return try readResponse()
    }

    /// GETs `path` and returns the body as text.
    func get(_ path: String) throws -> String {
        try send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
        let (_, body) = try readFullResponse()
        return String(decoding: body, as: UTF8.self)
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw CLIError("send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    private func readResponse() throws -> Int {
        try readFullResponse().status
    }

    private func readFullResponse() throws -> (status: Int, body: ArraySlice<UInt8>) {
        var raw: [UInt8] = []
        var headerEnd: Int?
        var contentLength = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { throw CLIError("the server closed the connection") }
            raw.append(contentsOf: buffer[0..<n])
            if headerEnd == nil, let end = Self.find(raw) {
                headerEnd = end
                let head = String(decoding: raw[..<end], as: UTF8.self).lowercased()
                if let range = head.range(of: "content-length:") {
                    let digits = head[range.upperBound...].drop { $0 == " " }.prefix { $0.isNumber }
                    contentLength = Int(digits) ?? 0
                }
            }
            if let end = headerEnd, raw.count >= end + 4 + contentLength {
                let statusText = String(decoding: raw[9..<12], as: UTF8.self)
                return (Int(statusText) ?? 0, raw[(end + 4)..<(end + 4 + contentLength)])
            }
        }
    }

    private static func find(_ raw: [UInt8]) -> Int? {
        guard raw.count >= 4 else { return nil }
        for i in 0...(raw.count - 4) where raw[i] == 13 && raw[i + 1] == 10 && raw[i + 2] == 13 && raw[i + 3] == 10 { return i }
        return nil
    }
}
