/// Both views of one account, plus the pairing of the bot's fills with the
/// venue's trade history, kept up to date as events fold.
///
/// Pairing is incremental so that a run looks only at fills in question, not at
/// the whole history: a run's cost is proportional to what is wrong, not to how
/// long the account has traded.
public struct AccountProjection: Sendable, Equatable {
    public var account: String
    public var local = LocalProjection()
    public var remote = RemoteProjection()
    /// Fills whose two sides are not (yet) known to agree, by `fill_id`.
    public var fillIssues: [IDKey: FillIssue] = [:]
    /// Local fills no trade-history window has covered yet, by `fill_id`.
    public var awaitingHistory: [IDKey: Int64] = [:]
    /// The venue named by the account's events (the latest one seen).
    public var venue: String?
    public var lastSeq: UInt64 = 0

    /// Within this many ms of a window's edges a missing fill may belong to the
    /// next window (clock differences), so it is not yet judged missing.
    public static let windowEdgeMs: Int64 = 1_000
    /// Differences of fill time at or below this are delivery latency, not a
    /// difference worth keeping (the configurable tolerance applies above it).
    public static let fillTimeFloorMs: Int64 = 1_000

    public init(account: String) {
        self.account = account
    }

    public enum FillIssue: String, Sendable, Equatable {
        /// On the venue, not in the bot's log.
        case missingLocal = "missing_local"
        /// In the bot's log, inside a window of venue history that lacks it.
        case missingRemote = "missing_remote"
        /// Both sides have it; some field differs.
        case differs
    }

    /// Folds one event of this account.
    /// `facts` are the event's, when worked out ahead (see `EventFacts`).
    public mutating func apply(_ event: Event, seq: UInt64, facts: EventFacts = EventFacts()) {
        lastSeq = seq
        if let v = event.venue { venue = v }
        // One switch on the body: each read of a multi-payload enum's case is an
        // outlined call, and every event passes here.
        switch event.body {
        case .exchangeFills(let x):
            // Each venue record meets the bot's fill before it is stored: most agree,
            // settle, and are never stored (storing and then removing each was about
            // a twentieth of a fold's time).
            for f in x.fills {
                if pair(venue: f) {
                    remote.fills.removeValueIfAny(forKey: f.fillId)
                } else {
                    remote.fills[f.fillId] = RemoteFill(record: f, seq: seq)
                }
            }
            remote.noteFillsWindow(x, seq: seq, asOfMs: event.tsMs)
            judgeAwaiting(in: TimeRange(fromMs: x.fromMs, toMs: x.toMs))
        case .exchangeSnapshot, .exchangePositionHistory:
            remote.apply(event, seq: seq)
        default:
            let before = local.fills.count
            local.apply(event, seq: seq, facts: facts)
            // A fill the local reducer took (not a repeat): pair it or wait for history.
            if local.fills.count > before, case let (fillId, fillTsMs)? = event.newFill {
                if let venueIndex = remote.fills.index(forKey: fillId) {
                    if pair(venue: remote.fills.values[venueIndex].record) { remote.fills.remove(at: venueIndex) }
                } else if remote.fillCoverage.covers(fillTsMs) && isInsideCoverage(fillTsMs) {
                    fillIssues[fillId] = .missingRemote
                } else {
                    awaitingHistory[fillId] = fillTsMs
                }
            }
        }
    }

    private func isInsideCoverage(_ t: Int64) -> Bool {
        remote.fillCoverage.contains { t >= $0.fromMs + Self.windowEdgeMs && t <= $0.toMs - Self.windowEdgeMs }
    }

    /// Compares a venue record with the bot's side of its fill and records the
    /// outcome; true when they agree, and the venue's record is then not kept
    /// (the local fill becomes a digest). Every fill passes here, so each table
    /// is looked up once (an empty one not at all).
    private mutating func pair(venue b: FillRecord) -> Bool {
        let fillId = b.fillId
        let settledKey = SettledFills.Key(fillId)
        if let digest = local.settledFills[settledKey] {
            let hash = b.fee == nil ? b.contentHash(includingFee: false) : b.contentHash(includingFee: true)
            let same = hash == (b.fee == nil ? digest.contentHashWithoutFee : digest.contentHash)
                && abs(digest.tsMs - (b.tsMs ?? digest.tsMs)) <= Self.fillTimeFloorMs
            if same {
                fillIssues.removeValueIfAny(forKey: fillId)
            } else {
                fillIssues[fillId] = .differs
            }
            return same
        }
        guard let localIndex = local.fills.index(forKey: fillId) else {
            fillIssues[fillId] = .missingLocal
            return false
        }
        awaitingHistory.removeValueIfAny(forKey: fillId)
        // Compared where it lies and moved out only to settle: a copy of the
        // bot's fill retained and released every string in it.
        let same = Self.agrees(&local.fills.values[localIndex], venue: b)
        if same {
            fillIssues.removeValueIfAny(forKey: fillId)
            local.settledFills.insert(key: settledKey, digest: FillDigest(local.fills.remove(at: localIndex).value))
        } else {
            fillIssues[fillId] = .differs
        }
        return same
    }

    /// Whether the venue's record `b` agrees with the bot's fill `l` (lent `inout`
    /// only to be read in place). A record without a fee agrees on the rest.
    private static func agrees(_ l: inout LocalFill, venue b: FillRecord) -> Bool {
        l.record.orderId == b.orderId && l.record.symbol == b.symbol && l.record.side == b.side && l.record.qty == b.qty
            && l.record.price == b.price && (b.fee == nil || (l.record.fee == b.fee && l.record.feeAsset == b.feeAsset))
            && l.record.liquidity == b.liquidity && abs(l.tsMs - (b.tsMs ?? l.tsMs)) <= fillTimeFloorMs
    }

    /// A new window of history: local fills inside it that it lacks are missing remotely.
    private mutating func judgeAwaiting(in window: TimeRange) {
        guard !awaitingHistory.isEmpty else { return }
        for (fillId, ts) in awaitingHistory where window.contains(ts) {
            if remote.fills[fillId] != nil { continue }
            if ts >= window.fromMs + Self.windowEdgeMs && ts <= window.toMs - Self.windowEdgeMs {
                fillIssues[fillId] = .missingRemote
                awaitingHistory[fillId] = nil
            }
        }
    }

    public func checkInvariants() -> [String] {
        var problems = local.checkInvariants()
        for (fillId, issue) in fillIssues {
            switch issue {
            case .missingLocal:
                if local.fills[fillId] != nil || local.settledFills[fillId.string] != nil {
                    problems.append("fill \(fillId) marked missing locally but present")
                }
                if remote.fills[fillId] == nil { problems.append("fill \(fillId) marked missing locally but not on the venue") }
            case .missingRemote:
                if remote.fills[fillId] != nil { problems.append("fill \(fillId) marked missing remotely but present") }
            case .differs:
                if (local.fills[fillId] == nil && local.settledFills[fillId.string] == nil) || remote.fills[fillId] == nil {
                    problems.append("fill \(fillId) differs but a side is absent")
                }
            }
        }
        // A venue record that agreed settled instead of being stored.
        for fillId in remote.fills.keys where fillIssues[fillId] == nil {
            problems.append("venue fill \(fillId) is stored with no issue")
        }
        return problems
    }
}

extension Event {
    /// The id and time of the fill a local fill or fill correction carries (the
    /// time the local reducer books it at).
    var newFill: (id: String, tsMs: Int64)? {
        switch body {
        case .fill(let f): return (f.fillId, tsMs)
        case .correction(let c):
            if case .fill(let f) = c.effect { return (f.fillId, f.tsMs ?? tsMs) }
            return nil
        default: return nil
        }
    }
}

/// Every account's projection, folded from a log prefix.
public struct Projection: Sendable, Equatable {
    public var accounts: [String: AccountProjection] = [:]
    public var lastSeq: UInt64 = 0

    public init() {}

    public mutating func apply(_ event: Event, seq: UInt64, facts: EventFacts = EventFacts()) {
        lastSeq = seq
        // A log holds one bot's account or a few: comparing the names in turn is
        // cheaper than hashing one (a String key is SipHashed).
        if accounts.count <= Self.accountsComparedInTurn {
            var i = accounts.startIndex
            while i != accounts.endIndex {
                if accounts.keys[i] == event.account {
                    accounts.values[i].apply(event, seq: seq, facts: facts)
                    return
                }
                accounts.formIndex(after: &i)
            }
        }
        accounts[event.account, default: AccountProjection(account: event.account)].apply(event, seq: seq, facts: facts)
    }

    /// Up to this many accounts, `apply` finds an event's account by comparing
    /// names; above it, by the table's hash.
    static let accountsComparedInTurn = 8

    public mutating func apply(_ logged: LoggedEvent, facts: EventFacts = EventFacts()) {
        apply(logged.event, seq: logged.seq, facts: facts)
    }

    /// Folds events in order from an empty projection.
    public static func fold(_ events: some Sequence<LoggedEvent>) -> Projection {
        var projection = Projection()
        for e in events { projection.apply(e) }
        return projection
    }
}
