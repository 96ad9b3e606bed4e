extension Dictionary {
    /// `removeValue(forKey:)` that does not hash the key into an empty table.
    /// Several of the reducers' tables (early fills, fill issues, fills awaiting
    /// history, instruments) are empty most of the time and asked on every fill;
    /// hashing a string key (SipHash) is most of such a lookup's cost.
    @inline(__always) @discardableResult
    mutating func removeValueIfAny(forKey key: Key) -> Value? {
        isEmpty ? nil : removeValue(forKey: key)
    }

    /// `self[key]`, without hashing the key into an empty table.
    @inline(__always)
    func valueIfAny(forKey key: Key) -> Value? {
        isEmpty ? nil : self[key]
    }
}
