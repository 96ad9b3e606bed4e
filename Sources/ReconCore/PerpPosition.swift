/// A signed perp position with its cost basis, and the arithmetic of fills on it.
///
/// Quantities are in base-asset units (converters multiply contracts by the
/// contract size before appending). The cost basis is kept exactly as
/// `Σ qty × price` of the open part; the average entry price is derived from it.
/// Division happens only when part of a position is closed: the share of the cost
/// basis it takes is rounded half-even to ``costScale`` digits. A position that
/// goes flat releases its whole cost basis, so the realized PnL of every round
/// trip is exact.
public struct PerpPosition: Sendable, Equatable {
    /// Signed: positive long, negative short.
    public private(set) var qty: ExactDecimal = .zero
    /// `|qty| × average entry`, kept exactly except for partial-close rounding.
    public private(set) var cost: ExactDecimal = .zero

    /// Fractional digits kept when a partial close divides the cost basis
    /// (finer than any venue's, coarse enough to read).
    public static let costScale = 10
    /// Fractional digits of the displayed average entry price.
    public static let entryPriceScale = 12

    public init() {}

    public init(qty: ExactDecimal, entryPrice: ExactDecimal) {
        self.qty = qty
        self.cost = qty.magnitude * entryPrice
    }

    public var isFlat: Bool { qty.isZero }

    /// Sets the stored state directly (checkpoint decoding).
    mutating func restore(qty: ExactDecimal, cost: ExactDecimal) {
        self.qty = qty
        self.cost = cost
    }

    /// Average entry price, or 0 when flat.
    public var entryPrice: ExactDecimal {
        qty.isZero ? .zero : cost.divided(by: qty.magnitude, scale: Self.entryPriceScale)
    }

    /// What one fill did to the position.
    public struct Change: Sendable, Equatable {
        /// PnL realized by the reducing part (in the settlement asset).
        public var realizedPnl: ExactDecimal = .zero
        /// The quantity that reduced the position.
        public var closedQty: ExactDecimal = .zero
        /// The position returned to flat (possibly then reopening the other way).
        public var closed = false
        /// A flip: closed, then opened the rest the other way at the fill price.
        public var flipped = false
        /// The position left flat (first fill of a new round trip).
        public var opened = false
    }

    /// Applies a fill of `qty` (> 0) at `price` on `side`.
    @discardableResult
    public mutating func apply(side: Side, qty fillQty: ExactDecimal, price: ExactDecimal) -> Change {
        var change = Change()
        let signed = side == .buy ? fillQty : -fillQty
        if qty.isZero || qty.signum == signed.signum {
            change.opened = qty.isZero
            qty += signed
            cost += fillQty * price
            return change
        }
        // Reducing: the fill closes up to the whole position.
        let held = qty.magnitude
        let direction: ExactDecimal = qty.isPositive ? 1 : -1
        if fillQty < held {
            let released = (cost * fillQty).divided(by: held, scale: Self.costScale)
            change.realizedPnl = direction * (fillQty * price - released)
            change.closedQty = fillQty
            cost -= released
            qty += signed
            return change
        }
        change.realizedPnl = direction * (held * price - cost)
        change.closedQty = held
        change.closed = true
        let rest = fillQty - held
        if rest.isZero {
            qty = .zero
            cost = .zero
        } else {
            change.flipped = true
            change.opened = true
            qty = side == .buy ? rest : -rest
            cost = rest * price
        }
        return change
    }

    /// Adds `delta` at `price` (a correction): like a fill of that size and side.
    @discardableResult
    public mutating func adjust(by delta: ExactDecimal, price: ExactDecimal) -> Change {
        guard !delta.isZero else { return Change() }
        return apply(side: delta.isPositive ? .buy : .sell, qty: delta.magnitude, price: price)
    }
}
