extension Range where Bound == Int {
    /// The first index of the range at which `isBelow` is false, for a predicate
    /// that is true on a prefix of the range and false after it (a search of
    /// something sorted); `upperBound` when it is true throughout. Inlined, as
    /// the searches of settled fills and stored closed orders are on the fold's path.
    @inline(__always)
    func firstIndexNotBelow(_ isBelow: (Int) throws -> Bool) rethrows -> Int {
        var low = lowerBound, high = upperBound
        while low < high {
            let middle = low + (high - low) / 2
            if try isBelow(middle) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
