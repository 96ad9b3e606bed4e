import Foundation

/// The built `recon` binary: it sits next to the test bundle in the build
/// products folder (a few levels up, depending on the platform's bundle layout).
public let reconBinary: String = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = url.appendingPathComponent("recon").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        url = url.deletingLastPathComponent()
    }
    return ".build/debug/recon"
}()
