/// What folding an event needs that depends on the event alone, worked out
/// ahead of the fold: a replay's decoding thread fills it in while the folding
/// thread, the slower of the two, is busy with the events before.
///
/// Pure functions of the event, so a fold given them and a fold without them
/// (which works each out itself when it needs it) reach the same projection.
public struct EventFacts: Sendable {
    /// A fill's content hashes (`FillRecord.contentHashes`): a confirmed fill
    /// is kept as them. Hashing each fill when it settled was a twentieth of
    /// a full fold.
    public var fillContentHashes: FillContentHashes?

    /// No facts: the fold works out what it needs.
    public init() {}

    /// Lent `inout` though only read, so that it is read where it lies (see
    /// `EventsDecodedAhead.Chunk.forEach`); taken by value, the whole event was
    /// copied and destroyed, twice the cost of the hashes.
    public init(of event: inout Event) {
        if case .fill(let fill) = event.body { fillContentHashes = fill.contentHashes }
    }
}
