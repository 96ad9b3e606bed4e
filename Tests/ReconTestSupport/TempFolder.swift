public import Foundation

/// A fresh folder under /tmp, removed when the value goes away.
public final class TempFolder {
    public let path: String

    public init(_ label: String = "recon-test") {
        path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension TempFolder {
    public struct MarkerNotFound: Error {
        public let marker: String
    }

    /// Flips one bit of the log's data file inside the first copy of `marker` (a
    /// string some record holds), as a damaged disk would. The log must be closed.
    public func damageLogFile(at marker: String) throws {
        let file = URL(fileURLWithPath: path + "/data.mdb")
        var bytes = [UInt8](try Data(contentsOf: file))
        let needle = Array(marker.utf8)
        guard let at = bytes.indices.first(where: { bytes[$0..<min($0 + needle.count, bytes.count)].elementsEqual(needle) }) else {
            throw MarkerNotFound(marker: marker)
        }
        bytes[at + needle.count / 2] ^= 0x20
        try Data(bytes).write(to: file)
    }
}

/// Creates (or empties) the file at `path` with `contents`; throws when it
/// cannot, so a child process is never started with output going nowhere.
public func createFile(atPath path: String, contents: Data? = nil) throws {
    guard FileManager.default.createFile(atPath: path, contents: contents) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
}
