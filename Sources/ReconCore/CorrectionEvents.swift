extension ProposedCorrection {
    /// The `correction` event that applies this proposal. Its id derives from the
    /// run and the discrepancy key, so applying the same proposal twice (a retry,
    /// two operators) appends it once.
    public func event(account: String, sourceRunId: String, approvedBy: String, tsMs: Int64, venue: String? = nil) -> Event {
        let id = "correction-" + SHA256.hex("\(sourceRunId)|\(key)").prefix(24)
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
