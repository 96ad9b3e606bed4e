import Glibc
import ReconCore

/// An NDJSON file read in pieces that end at line ends, for an input too large
/// to hold in memory. Each piece comes with the number of its first line, so
/// errors name the same lines as when the file is read whole.
struct NDJSONFilePieces {
    let path: String
    /// About how much of the file a piece holds; at least twice the longest
    /// accepted line, so a line that fits the limit always ends inside a piece.
    let pieceBytes: Int

    init(path: String, pieceBytes: Int, maxLineBytes: Int) {
        self.path = path
        self.pieceBytes = max(pieceBytes, 2 * maxLineBytes + 2)
    }

    /// Calls `body` with each piece, its first line's number, and the bytes of
    /// the file read so far. A piece with no line end in it (one line longer
    /// than the piece, so longer than the limit) is passed whole, for the
    /// decoder to reject with its line number.
    func forEach(_ body: (_ piece: UnsafeRawBufferPointer, _ firstLine: Int, _ bytesRead: Int) throws -> Void) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CLIError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(pieceBytes + (1 << 20))
        var chunk = [UInt8](repeating: 0, count: min(1 << 20, pieceBytes))
        var line = 1, bytesRead = 0, atEnd = false
        while true {
            while !atEnd && buffer.count < pieceBytes {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CLIError("cannot read \(path): \(String(cString: strerror(errno)))")
                }
                if n == 0 { atEnd = true } else { buffer.append(contentsOf: chunk[0..<n]); bytesRead += n }
            }
            guard !buffer.isEmpty else { return }
            var end = buffer.count
            if !atEnd, let lastLineEnd = buffer.lastIndex(of: 0x0A) { end = lastLineEnd + 1 }
            try buffer.withUnsafeBytes { raw in
                let piece = UnsafeRawBufferPointer(rebasing: raw[0..<end])
                try body(piece, line, bytesRead)
                line += NDJSON.newlineCount(piece)
            }
            buffer.removeFirst(end)
        }
    }
}
