import Foundation
public import ReconCore
import Synchronization

/// Writes each run's report to the report folder: `<dir>/latest.json` (the
/// newest run of any account), `<dir>/<account>/latest.json`, and
/// `<dir>/<account>/reconciliation_<at>_<run_id>.json`.
///
/// The timestamp is the run's `at_ms` (when the log knew what the run saw), not
/// the wall clock, so the same run writes the same file name; the run id keeps
/// two runs at one millisecond apart. Files are written to a temporary name and
/// renamed, so a reader never sees half a report. At most `keepPerAccount`
/// timestamped reports are kept per account; the oldest are deleted.
public final class ReportWriter: Sendable {
    public let directory: String
    public let keepPerAccount: Int
    /// Writes per account since its folder was last pruned: listing a folder of
    /// a thousand files on every run would cost more than the run.
    private let sincePrune = Mutex<[String: Int]>([:])
    static let pruneEvery = 100

    public init(directory: String, keepPerAccount: Int = 1_000) {
        self.directory = directory
        self.keepPerAccount = keepPerAccount
    }

    /// A file-name-safe form of an account name (ids may hold any character).
    static func folderName(_ account: String) -> String {
        let safe = account.unicodeScalars.map { s -> Character in
            let c = Character(s)
            return (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") && s.isASCII ? c : "_"
        }
        let name = String(safe)
        return name.isEmpty || name.hasPrefix(".") ? "_" + name : name
    }

    static func timestamp(_ ms: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let millis = ((ms % 1000) + 1000) % 1000
        func pad(_ v: Int?, _ n: Int) -> String { String(repeating: "0", count: max(0, n - String(v ?? 0).count)) + String(v ?? 0) }
        return "\(pad(c.year, 4))\(pad(c.month, 2))\(pad(c.day, 2))T\(pad(c.hour, 2))\(pad(c.minute, 2))\(pad(c.second, 2))\(pad(Int(millis), 3))Z"
    }

    /// Writes one report; returns the timestamped file's path.
    @discardableResult
    public func write(_ report: Report, json: [UInt8]) throws -> String {
        let folder = directory + "/" + Self.folderName(report.point.account)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var bytes = json
        bytes.append(0x0A)
        let name = "reconciliation_\(Self.timestamp(report.point.atMs))_\(report.runId).json"
        let path = folder + "/" + name
        try Self.atomicWrite(bytes, to: path)
        try Self.atomicWrite(bytes, to: folder + "/latest.json")
        try Self.atomicWrite(bytes, to: directory + "/latest.json")
        let due = sincePrune.withLock { counts -> Bool in
            counts[folder, default: Self.pruneEvery] += 1
            guard counts[folder]! >= Self.pruneEvery else { return false }
            counts[folder] = 0
            return true
        }
        if due { try prune(folder) }
        return path
    }

    /// Writes `bytes` to `path` through a temporary file and a rename.
    static func atomicWrite(_ bytes: [UInt8], to path: String) throws {
        let temp = path + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(bytes)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temp])
        }
        if rename(temp, path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }

    private func prune(_ folder: String) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder)
            .filter { $0.hasPrefix("reconciliation_") && $0.hasSuffix(".json") }
        guard names.count > keepPerAccount else { return }
        for name in names.sorted().prefix(names.count - keepPerAccount) {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }
}
