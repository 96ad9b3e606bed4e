#if canImport(Glibc)
import Glibc
#endif

/// Buffered output for machine formats: NDJSON of a million lines must not make
/// a million write calls.
struct OutputBuffer: ~Copyable {
    private var buffer: [UInt8] = []
    private let fd: Int32
    static let flushBytes = 1 << 16

    init(fd: Int32 = 1) {
        self.fd = fd
        buffer.reserveCapacity(Self.flushBytes * 2)
    }

    mutating func write(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushBytes { flush() }
    }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.flushBytes { flush() }
    }

    mutating func line(_ text: String) {
        write(text)
        buffer.append(0x0A)
    }

    mutating func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 {
                    if errno == EINTR { continue }
                    // A closed pipe (`recon events | head`) ends output quietly.
                    exit(errno == EPIPE ? 0 : 1)
                }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit {
        if !buffer.isEmpty {
            var offset = 0
            buffer.withUnsafeBytes { raw in
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n <= 0 { return }
                    offset += n
                }
            }
        }
    }
}

enum Console {
    /// Writes a line to stderr.
    static func error(_ text: String) {
        var line = Array(text.utf8)
        line.append(0x0A)
        line.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// Whether stderr is a terminal (progress lines are only drawn on one).
    static var stderrIsTerminal: Bool { isatty(2) == 1 }
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    /// Redraws a one-line progress indicator on a terminal; silent otherwise.
    static func progress(_ label: String, _ done: UInt64, _ total: UInt64) {
        guard stderrIsTerminal, total > 0 else { return }
        let width = 30
        let filled = Int(Double(done) / Double(total) * Double(width))
        let bar = String(repeating: "#", count: min(filled, width)) + String(repeating: ".", count: max(0, width - filled))
        let text = "\r\(label) [\(bar)] \(done)/\(total)"
        text.utf8CString.withUnsafeBufferPointer { _ = Glibc.write(2, $0.baseAddress, $0.count - 1) }
        if done >= total { error("") }
    }
}

/// Reads a whole file (or stdin for "-") into memory.
func readInput(_ path: String) throws -> [UInt8] {
    let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY)
    guard fd >= 0 else { throw CLIError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { if fd != 0 { close(fd) } }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CLIError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        if n == 0 { break }
        result.append(contentsOf: chunk[0..<n])
    }
    return result
}
