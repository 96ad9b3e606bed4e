import Dispatch
import Foundation
import ReconCore

/// Decodes a large NDJSON input on several threads. Decoding is most of an
/// import's time and each line decodes alone, so the input is cut at line ends
/// into one piece per thread, each piece is decoded knowing its first line's
/// number, and the pieces are joined in order: the same events, the same line
/// numbers and the same first error as `NDJSON.decode` on one thread.
enum ParallelNDJSON {
    /// Below this, one thread: the hand-off would cost more than it saves.
    static let minimumBytesPerThread = 512 << 10

    static var defaultThreads: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `firstLine`: the number of the input's first line (a piece of a file read in pieces).
    static func decode(_ bytes: UnsafeRawBufferPointer, firstLine: Int = 1, maxLineBytes: Int,
                       threads: Int = defaultThreads) throws(EventInputError) -> [DecodedEvent] {
        let threads = min(threads, bytes.count / minimumBytesPerThread)
        guard threads > 1 else { return try NDJSON.decode(bytes, firstLine: firstLine, maxLineBytes: maxLineBytes) }

        let pieces = cut(bytes, into: threads, firstLine: firstLine)
        let results = UnsafeMutableBufferPointer<Result<[DecodedEvent], EventInputError>?>.allocate(capacity: pieces.count)
        results.initialize(repeating: nil)
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        let shared = Shared(bytes: bytes, results: results)
        DispatchQueue.concurrentPerform(iterations: pieces.count) { k in
            let piece = pieces[k]
            let text = UnsafeRawBufferPointer(rebasing: shared.bytes[piece.start..<piece.end])
            shared.results[k] = Result { () throws(EventInputError) in
                try NDJSON.decode(text, firstLine: piece.firstLine, maxLineBytes: maxLineBytes)
            }
        }

        // Pieces are in input order, and each stops at its first bad line: the
        // first piece that failed holds the input's first bad line.
        var decoded: [[DecodedEvent]] = []
        for result in results {
            guard let result else { preconditionFailure("a decoding thread did not report") }
            decoded.append(try result.get())
        }
        var events: [DecodedEvent] = []
        events.reserveCapacity(decoded.reduce(0) { $0 + $1.count })
        for piece in decoded { events += piece }
        return events
    }

    /// Cuts the input just after a line end near each of `count` even shares,
    /// giving each piece the number of its first line.
    private static func cut(_ bytes: UnsafeRawBufferPointer, into count: Int, firstLine: Int) -> [Piece] {
        var pieces: [Piece] = []
        var start = 0
        var line = firstLine
        for k in 1...count where start < bytes.count {
            let end = k == count ? bytes.count : NDJSON.nextLineStart(bytes, from: max(start, bytes.count / count * k))
            pieces.append(Piece(start: start, end: end, firstLine: line))
            line += NDJSON.newlineCount(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            start = end
        }
        return pieces
    }

    private struct Piece: Sendable {
        let start: Int
        let end: Int
        let firstLine: Int
    }

    /// The input and the result slots, shared with the decoding threads: the
    /// input is only read, and each thread writes its own slot.
    private struct Shared: @unchecked Sendable {
        let bytes: UnsafeRawBufferPointer
        let results: UnsafeMutableBufferPointer<Result<[DecodedEvent], EventInputError>?>
    }
}
