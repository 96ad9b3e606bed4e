import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ReconTestSupport

/// A child process whose output goes to files (no pipe can fill and block it).
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let outPath: String
    let errPath: String

    init(_ executable: String, _ arguments: [String], folder: String, name: String, environment: [String: String] = [:]) throws {
        outPath = folder + "/\(name).out"
        errPath = folder + "/\(name).err"
        try createFile(atPath: outPath)
        try createFile(atPath: errPath)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RECON_DATA")
        env.removeValue(forKey: "RECON_TOKEN")
        env.removeValue(forKey: "RECON_CONFIG")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    func signal(_ sig: Int32) {
        if process.isRunning { kill(process.processIdentifier, sig) }
    }

    /// Waits for exit up to `timeoutS`; returns the exit status, nil if still running.
    @discardableResult
    func wait(timeoutS: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeoutS)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// `recon serve` on a free loopback port, over a data folder of the test's.
final class ServerProcess: @unchecked Sendable {
    static let token = "test-token-123"
    let child: ChildProcess
    let port: Int
    let data: String

    init(folder: String, config: String? = nil, extra: [String] = [], name: String = "serve") throws {
        data = folder + "/data"
        var args = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--print-port", "--log-level", "warning"]
        if let config {
            let path = folder + "/config-\(name).json"
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            args += ["--config", path]
        }
        child = try ChildProcess(reconBinary, args + extra, folder: folder, name: name, environment: ["RECON_TOKEN": Self.token])
        var found: Int?
        let child = child
        try eventually("recon serve to listen", timeoutS: 60) {
            found = Int(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            if found == nil && !child.process.isRunning { throw TestError("recon serve exited: \(child.stderr)") }
            return found != nil
        }
        port = found!
    }

    func post(_ path: String, _ body: String, token: String? = ServerProcess.token, headers: [String: String] = [:]) throws -> HTTPReply {
        try HTTP.request(port: port, "POST", path, body: Array(body.utf8), token: token, headers: headers)
    }

    func get(_ path: String, token: String? = ServerProcess.token) throws -> HTTPReply {
        try HTTP.request(port: port, "GET", path, token: token)
    }

    func stop() -> Int32? {
        child.signal(SIGTERM)
        return child.wait(timeoutS: 20)
    }
}

/// A real `redis-server` on a free port, nothing saved to disk.
final class RedisProcess: @unchecked Sendable {
    let child: ChildProcess
    let port: Int

    static var available: Bool { executable != nil }
    static let executable: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    init(folder: String) throws {
        guard let exe = Self.executable else { throw TestError("redis-server is not installed (tools/setup installs it)") }
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = TestSocket.freePort()
            let child = try ChildProcess(exe, ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                               "--dir", folder], folder: folder, name: "redis-\(port)")
            do {
                try eventually("redis-server to listen", timeoutS: 10) {
                    if !child.process.isRunning { throw TestError("redis-server exited: \(child.stdout)") }
                    return (try? TestSocket(port: port)) != nil
                }
                self.child = child
                self.port = port
                return
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestError("redis-server did not start")
    }

    deinit {
        child.signal(SIGKILL)
        child.wait()
    }
}

/// Subscribes to Redis channels and collects the messages on a thread.
final class RedisSubscriber: @unchecked Sendable {
    private let socket: TestSocket
    private let lock = NSLock()
    private var messages: [(channel: String, payload: String)] = []
    private var buffer: [UInt8] = []
    private var closed = false

    init(port: Int, channels: [String]) throws {
        socket = try TestSocket(port: port)
        var cmd = "*\(channels.count + 1)\r\n$9\r\nSUBSCRIBE\r\n"
        for c in channels { cmd += "$\(c.utf8.count)\r\n\(c)\r\n" }
        try socket.send(cmd)
        // Wait for every subscription confirmation before anyone publishes.
        var confirmed = 0
        while confirmed < channels.count {
            buffer += try socket.receive()
            confirmed = String(decoding: buffer, as: UTF8.self).components(separatedBy: "subscribe\r\n").count - 1
        }
        buffer = []
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    private func readLoop() {
        while true {
            lock.lock()
            if closed { lock.unlock(); return }
            lock.unlock()
            guard let chunk = try? socket.receive(timeoutMs: 200) else { continue }
            if chunk.isEmpty { return }
            lock.lock()
            buffer += chunk
            while let (message, used) = Self.parseMessage(buffer) {
                buffer.removeFirst(used)
                if let message { messages.append(message) }
            }
            lock.unlock()
        }
    }

    /// Parses one `*3 $7 message $N channel $M payload` push; nil when incomplete.
    static func parseMessage(_ b: [UInt8]) -> ((channel: String, payload: String)?, Int)? {
        var i = 0
        func line() -> String? {
            guard let end = b[i...].firstIndex(of: 13), end + 1 < b.count else { return nil }
            let s = String(decoding: b[i..<end], as: UTF8.self)
            i = end + 2
            return s
        }
        func bulk() -> String? {
            guard let header = line(), header.hasPrefix("$"), let n = Int(header.dropFirst()), i + n + 2 <= b.count else { return nil }
            let s = String(decoding: b[i..<i + n], as: UTF8.self)
            i += n + 2
            return s
        }
        guard let top = line(), top.hasPrefix("*"), let count = Int(top.dropFirst()) else { return nil }
        var parts: [String] = []
        for _ in 0..<count {
            guard let p = bulk() else { return nil }
            parts.append(p)
        }
        if parts.count == 3 && parts[0] == "message" { return ((parts[1], parts[2]), i) }
        return (nil, i)
    }

    func received(_ channel: String) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return messages.filter { $0.channel == channel }.map(\.payload)
    }

    deinit {
        lock.lock()
        closed = true
        lock.unlock()
    }
}

/// A local webhook receiver: answers each POST (the first `failFirst` with 500)
/// and keeps the bodies.
final class WebhookReceiver: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var bodies: [String] = []
    private var failuresLeft: Int
    private(set) var requests = 0

    init(failFirst: Int = 0) throws {
        failuresLeft = failFirst
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listener, 16)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    var received: [String] {
        lock.lock()
        defer { lock.unlock() }
        return bodies
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { return }
            let s = TestSocket(fd: fd)
            var raw: [UInt8] = []
            while true {
                guard let chunk = try? s.receive(timeoutMs: 5_000), !chunk.isEmpty else { break }
                raw += chunk
                if let reply = try? HTTP.parse(raw), let length = Int(reply.headers["content-length"] ?? "0"), reply.body.count >= length { break }
            }
            guard let request = try? HTTP.parse(raw) else { continue }
            lock.lock()
            requests += 1
            let fail = failuresLeft > 0
            if fail { failuresLeft -= 1 } else { bodies.append(request.text) }
            lock.unlock()
            try? s.send(fail ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                             : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

/// Runs the `recon` binary to completion.
func runRecon(_ arguments: [String], folder: String) throws -> (status: Int32, stdout: String, stderr: String) {
    let child = try ChildProcess(reconBinary, arguments, folder: folder, name: "cli-\(UUID().uuidString.prefix(8))")
    guard let status = child.wait(timeoutS: 60) else { throw TestError("recon \(arguments) did not finish") }
    return (status, child.stdout, child.stderr)
}

/// The repository's fixtures folder.
let fixturesFolder: String = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<4 {
        url = url.deletingLastPathComponent()
        let candidate = url.appendingPathComponent("fixtures").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
    }
    return "fixtures"
}()
