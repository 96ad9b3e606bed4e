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
