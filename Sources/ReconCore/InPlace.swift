/// Helpers for code that writes a value into memory field by field (the log's
/// decoder fills a reader's chunk this way; see `EventCodec.decode(_:into:)`).

extension UnsafeMutableRawPointer {
    /// The stored property at `offset` (from `MemoryLayout.offset(of:)`) of the
    /// value this points at, typed.
    @inlinable @inline(__always) public func field<T>(at offset: Int, as type: T.Type) -> UnsafeMutablePointer<T> {
        (self + offset).assumingMemoryBound(to: T.self)
    }
}

/// The value `initialize` writes into a temporary slot, moved out: a writer in
/// place serving a caller that wants a value.
@inlinable @inline(__always)
public func movedOut<T, E: Error>(_ initialize: (UnsafeMutablePointer<T>) throws(E) -> Void) throws(E) -> T {
    try withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { (slot) throws(E) -> T in
        try initialize(slot.baseAddress!)
        return slot.baseAddress!.move()
    }
}
