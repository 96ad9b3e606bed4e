import Foundation
import Logging
import ReconCore
import ReconStore

/// `auto_correct`: after a run, appends the corrections within the configured
/// limits (`max_auto_correction_size`, `max_auto_correction_amount`; never a
/// critical position delta) through the same group-commit writer as any client,
/// off the engine's thread. Each fix's id derives from the discrepancy's open
/// stretch, so runs that propose it again before it is folded append it once.
final class AutoCorrector: @unchecked Sendable {
    private let config: ReconConfig
    private let logger: Logger
    private let lock = NSLock()
    private var writer: GroupCommitWriter?

    init(config: ReconConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// The writer is made after the engine whose reports feed this.
    func attach(_ writer: GroupCommitWriter) {
        lock.withLock { self.writer = writer }
    }

    func consider(_ report: Report) {
        let events = report.autoCorrections(config: config)
        guard !events.isEmpty, let writer = lock.withLock({ writer }) else { return }
        let inputs = events.enumerated().map { AppendInput(event: $0.element, line: $0.offset + 1) }
        let logger = logger
        Task {
            do {
                let result = try await writer.submit(inputs)
                if result.appended > 0 {
                    logger.info("auto_correct", metadata: ["account": "\(report.point.account)", "run_id": "\(report.runId)",
                                                          "appended": "\(result.appended)", "keys": "\(events.count)"])
                }
            } catch {
                logger.error("auto_correct failed", metadata: ["account": "\(report.point.account)", "run_id": "\(report.runId)",
                                                               "reason": "\(error)"])
            }
        }
    }
}
