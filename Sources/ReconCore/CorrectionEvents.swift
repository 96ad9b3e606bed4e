extension ProposedCorrection {
    /// The `correction` event that applies this proposal. Its id derives from the
    /// run and the discrepancy key, so applying the same proposal twice (a retry,
    /// two operators) appends it once.
    ///
    /// `sameFixSince`, for automatic application: the first seq of the
    /// discrepancy's open stretch, which replaces the run in the id, so every run
    /// that proposes the fix before the first is folded appends it once.
    public func event(account: String, sourceRunId: String, approvedBy: String, tsMs: Int64, venue: String? = nil,
                      sameFixSince: UInt64? = nil) -> Event {
        let basis = sameFixSince.map { "auto|\($0)|\(key)" } ?? "\(sourceRunId)|\(key)"
        let id = "correction-" + SHA256.hex(basis).prefix(24)
        return Event(id: id, account: account, tsMs: tsMs, venue: venue,
                     body: .correction(Correction(key: key, sourceRunId: sourceRunId, approvedBy: approvedBy, effect: effect)))
    }

    /// One line for people: what it would change.
    public var summary: String {
        switch effect {
        case .fill(let f): return "adopt fill \(f.fillId): \(f.summary)"
        case .positionAdjustment(let symbol, let qtyDelta, let price): return "adjust \(symbol) by \(qtyDelta) at \(price)"
        case .balanceAdjustment(let asset, let amount): return "adjust \(asset) by \(amount)"
        }
    }
}

extension Report {
    /// The `correction` events `auto_correct` applies after this run: the
    /// proposals within the configured limits, approved by `auto_correct`. Empty
    /// unless the account opted in.
    public func autoCorrections(config: ReconConfig) -> [Event] {
        let account = point.account
        guard config.thresholds(account: account).autoCorrect else { return [] }
        return findings.corrections.filter(\.autoApplicable).map { c in
            let since = discrepancies.first { $0.key == c.key }?.firstSeenSeq ?? point.atSeq
            return c.event(account: account, sourceRunId: runId, approvedBy: "auto_correct",
                           tsMs: findings.remoteAsOfMs ?? point.atMs, sameFixSince: since)
        }
    }
}
