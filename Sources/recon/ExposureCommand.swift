import ArgumentParser
import ReconCore
import ReconStore

struct ExposureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exposure",
        abstract: "Net position per asset across accounts and venues, the bot's and the venue's side by side.",
        discussion: """
            Sums, per base asset, every account's perp positions (quantity × \
            contract size) and spot holdings of assets that are a declared spot \
            instrument's base, as the bot believes them and as the venues last \
            reported them. A venue side is "partial" when some account's venue has \
            not reported the section that would hold it (unknown is never counted as \
            flat). The asset of an undeclared perp is the symbol up to its first \
            "-", "/" or ":" (BTC-PERP → BTC).

            Examples:
              recon exposure
              recon exposure --at-time 2026-11-25T14:02:00Z --json
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions

    @Flag(help: "JSON output, with each account's share.")
    var json = false

    struct Share {
        var account: String
        var venue: String?
        var local: ExactDecimal = 0
        var remote: ExactDecimal? = 0
    }

    func run() throws {
        let log = try data.openLog(readOnly: true)
        let seq = try point.resolve(log)
        // An as-of read: the nearest checkpoint group, then the events since.
        let projection = try CheckpointStore(log: log).projection(at: seq)
        var byAsset: [String: [Share]] = [:]
        for account in projection.accounts.keys.sorted() {
            for (asset, share) in Self.shares(projection.accounts[account]!) { byAsset[asset, default: []].append(share) }
        }
        if json {
            var w = JSONWriter()
            w.arrayValue { w in
                for asset in byAsset.keys.sorted() {
                    let shares = byAsset[asset]!
                    w.objectValue { w in
                        w.field("asset", asset)
                        w.field("local", shares.map(\.local).reduce(0, +))
                        w.field("remote", Self.remoteSum(shares))
                        w.key("accounts")
                        w.arrayValue { w in
                            for s in shares {
                                w.objectValue { w in
                                    w.field("account", s.account)
                                    w.key("venue")
                                    if let venue = s.venue { w.string(venue) } else { w.null() }
                                    w.field("local", s.local)
                                    w.field("remote", s.remote)
                                }
                            }
                        }
                    }
                }
            }
            print(w.text)
            return
        }
        print("net exposure at seq \(seq) across \(projection.accounts.count) accounts")
        var table = TextTable(["asset", "bot", "venue", "delta", "accounts"], rightAligned: [1, 2, 3])
        for asset in byAsset.keys.sorted() {
            let shares = byAsset[asset]!
            let local = shares.map(\.local).reduce(0, +)
            let remote = Self.remoteSum(shares)
            let partial = shares.contains { $0.remote == nil }
            table.add([asset, "\(local)", remote.map { "\($0)" } ?? "-", remote.map { "\($0 - local)" } ?? "-",
                       shares.map { $0.account + ($0.remote == nil ? " (venue unknown)" : "") }.joined(separator: ", ")
                           + (partial && remote != nil ? " — venue partial" : "")])
        }
        print(table.rows.isEmpty ? "  (no positions or holdings)" : table.render())
    }

    /// The venue side's sum over the accounts that reported it; nil when none did.
    static func remoteSum(_ shares: [Share]) -> ExactDecimal? {
        let known = shares.compactMap(\.remote)
        return known.isEmpty ? nil : known.reduce(0, +)
    }

    /// One account's exposure per asset, both sides.
    static func shares(_ p: AccountProjection) -> [String: Share] {
        var out: [String: Share] = [:]
        func add(_ asset: String, local: ExactDecimal, remote: ExactDecimal?) {
            var s = out[asset] ?? Share(account: p.account, venue: p.venue)
            s.local += local
            s.remote = s.remote.flatMap { sum in remote.map { sum + $0 } }
            out[asset] = s
        }
        let instruments = p.local.instruments.mapValues(\.instrument)
        var symbols = Set(p.remote.positions.items.keys)
        for (s, lp) in p.local.positions where !lp.position.isFlat { symbols.insert(s.string) }
        for symbol in symbols {
            let i = instruments[symbol]
            guard i?.kind != .spot else { continue }
            let size = i?.contractSize ?? 1
            let asset = i?.base ?? String(symbol.prefix { $0 != "-" && $0 != "/" && $0 != ":" })
            let local = (p.local.positions[symbol]?.position.qty ?? 0) * size
            let remote: ExactDecimal? = p.remote.positions.coverage(of: symbol) == nil ? nil : (p.remote.positions.items[symbol]?.item.qty ?? 0) * size
            add(asset, local: local, remote: remote)
        }
        for base in Set(instruments.values.filter { $0.kind == .spot }.map(\.base)) {
            let local = p.local.balances[base]?.amount ?? 0
            let remote = p.remote.balances.map { $0[base]?.total ?? 0 }
            guard !local.isZero || !(remote ?? 0).isZero else { continue }
            add(base, local: local, remote: remote)
        }
        return out
    }
}
