import ArgumentParser
import Foundation
import ReconStore

/// `--at SEQ` or `--at-time T`: the point in time a command looks at.
struct PointOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Look at the log as it was after this seq.", valueName: "SEQ"))
    var at: UInt64?

    @Option(name: .customLong("at-time"),
            help: ArgumentHelp("Look at what the log knew at this time (ingest_ms ≤ T): ISO-8601 (2026-11-25T14:02:00Z) or epoch ms.", valueName: "T"))
    var atTime: String?

    func validate() throws {
        if at != nil && atTime != nil { throw ValidationError("give --at or --at-time, not both") }
        if let atTime, Self.parseTime(atTime) == nil {
            throw ValidationError("--at-time \(atTime): expected ISO-8601 (2026-11-25T14:02:00Z) or epoch milliseconds")
        }
    }

    /// Epoch ms from ISO-8601 (with or without fractional seconds) or digits.
    static func parseTime(_ text: String) -> Int64? {
        if let ms = Int64(text) { return ms }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64((date.timeIntervalSince1970 * 1000).rounded()) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) * 1000 }
        return nil
    }

    /// The seq this point names (the log's end when neither option is given).
    func resolve(_ log: EventLog) throws -> UInt64 {
        let last = try log.lastSeq()
        if let at {
            guard at <= last else { throw CLIError("--at \(at) is past the end of the log (last seq \(last))") }
            return at
        }
        if let atTime, let ms = Self.parseTime(atTime) {
            return try log.read { try $0.seq(atIngestMs: ms) }
        }
        return last
    }
}

/// Formats epoch ms as ISO-8601 for people.
func isoTime(_ ms: Int64) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}

/// A plain aligned text table for terminal output.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned right (numbers).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String = "  ") -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            indent + cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = [line(headers), indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
