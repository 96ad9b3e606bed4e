import Foundation
import ReconTestSupport

/// Runs the built `recon` binary, as a user would.
struct CLIRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: String { reconBinary }

    /// Runs to completion. Output goes through files, so no pipe can fill up and
    /// block the child however much it prints.
    @discardableResult
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                    executable: String? = nil) throws -> Result {
        let scratch = TempFolder("recon-cli-io")
        let inPath = scratch.path + "/in", outPath = scratch.path + "/out", errPath = scratch.path + "/err"
        try createFile(atPath: inPath, contents: stdin ?? Data())
        try createFile(atPath: outPath)
        try createFile(atPath: errPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RECON_DATA")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle(forReadingAtPath: inPath)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        process.waitUntilExit()
        let out = FileManager.default.contents(atPath: outPath) ?? Data()
        let err = FileManager.default.contents(atPath: errPath) ?? Data()
        return Result(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }
}
