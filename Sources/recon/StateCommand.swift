public import ArgumentParser
import ReconCore
import ReconStore

struct StateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Show an account's local and remote state at any point.",
        discussion: """
            The bot's view (positions, open orders, balances) and the venue's (the \
            latest report of each section) after the event at --at, or as the log \
            knew them at --at-time. Reads the nearest checkpoint and the events since, \
            never the whole log. --json prints everything with provenance: each value \
            carries the seq of the event that last changed it.

            --key follows one value instead: position:SYMBOL, order:ORDER_ID or \
            balance:ASSET. It prints every event up to the point that changed the \
            value on either side, with the value after it: the events that built it, \
            and since when each side says what it says. (It reads the account's \
            events from the start of the log.)

            Examples:
              recon state --account bot1
              recon state --account bot1 --at-time 2026-11-25T14:02:00Z --side remote
              recon state --account bot1 --key position:BTC-PERP --at 120000
            """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var point: PointOptions

    @Option(help: "The account.")
    var account: String

    @Option(help: "local, remote or both.")
    var side: AccountProjection.Side = .both

    @Flag(help: "Print JSON with provenance.")
    var json = false

    @Option(help: ArgumentHelp("Follow one value: position:SYMBOL, order:ORDER_ID or balance:ASSET.", valueName: "KEY"))
    var key: String?

    func validate() throws {
        if let key, ProjectionKey(key) == nil {
            throw ValidationError("--key must be position:SYMBOL, order:ORDER_ID or balance:ASSET, not \"\(key)\"")
        }
    }

    func run() throws {
        let log = try data.openLog(readOnly: true)
        let seq = try point.resolve(log)
        if let key, let followed = ProjectionKey(key) {
            try printHistory(of: followed, log: log, to: seq)
            return
        }
        let projection = try CheckpointStore(log: log).projection(account: account, at: seq)
        if projection.lastSeq == 0 && seq > 0 {
            Console.error("note: account \(account) has no events up to seq \(seq)")
        }
        if json {
            var w = JSONWriter()
            projection.writeJSON(into: &w, side: side, atSeq: seq)
            print(w.text)
            return
        }
        print("account \(account) at seq \(seq)" + (projection.venue.map { " (venue \($0))" } ?? ""))
        if side != .remote { printLocal(projection.local) }
        if side != .local { printRemote(projection.remote) }
    }

    /// The events that changed `key` up to `seq` (`EventLog.history`).
    private func printHistory(of key: ProjectionKey, log: EventLog, to seq: UInt64) throws {
        let (history, projection) = try log.history(of: key, account: account, to: seq) { Console.progress("history", $0, seq) }
        Console.progress("history", seq, seq)
        if projection.lastSeq == 0 && seq > 0 {
            Console.error("note: account \(account) has no events up to seq \(seq)")
        }
        let changes = history.changes.filter { side == .both || $0.side == (side == .local ? "local" : "remote") }
        if json {
            var w = JSONWriter()
            w.objectValue { w in
                w.field("account", account)
                w.field("key", key.description)
                w.key("at_seq")
                w.uint(seq)
                w.key("changes")
                w.arrayValue { w in
                    for c in changes {
                        w.objectValue { w in
                            w.key("seq")
                            w.uint(c.seq)
                            w.field("event_id", c.eventId)
                            w.field("type", c.type.name)
                            w.key("ts_ms")
                            w.int(c.tsMs)
                            w.field("side", c.side)
                            w.key("value")
                            if let value = c.value { w.string(value) } else { w.null() }
                        }
                    }
                }
            }
            print(w.text)
            return
        }
        print("\(key) of account \(account), up to seq \(seq): \(changes.count) change\(changes.count == 1 ? "" : "s")")
        var table = TextTable(["seq", "time", "event", "id", "side", "value after"], rightAligned: [0])
        for c in changes {
            table.add(["\(c.seq)", isoTime(c.tsMs), c.type.name, c.eventId, c.side, c.value ?? "(none)"])
        }
        print(table.rows.isEmpty ? "  (no event changed it)" : table.render())
    }

    private func printLocal(_ local: LocalProjection) {
        print("\nLOCAL (what the bot believes), last changed at seq \(local.lastSeq)")
        var positions = TextTable(["symbol", "qty", "entry", "realized pnl", "seq"], rightAligned: [1, 2, 3, 4])
        for symbol in local.positions.keys.sorted() {
            let p = local.positions[symbol]!
            guard !p.position.isFlat else { continue }
            positions.add([symbol.string + (p.synthetic ? " *" : ""), "\(p.position.qty)", "\(p.position.entryPrice.rounded(scale: 8))", "\(p.realizedPnl.rounded(scale: 8))", "\(p.lastSeq)"])
        }
        print("positions:\n" + (positions.rows.isEmpty ? "  (flat)" : positions.render()))
        var orders = TextTable(["order", "symbol", "side", "qty", "remaining", "price", "seq"], rightAligned: [3, 4, 5, 6])
        for id in local.openOrders.keys.sorted() {
            let o = local.openOrders[id]!
            orders.add([id.string, o.symbol, o.side.rawValue, "\(o.qty)", "\(o.remaining)", o.price.map { "\($0)" } ?? "market", "\(o.lastSeq)"])
        }
        print("open orders:\n" + (orders.rows.isEmpty ? "  (none)" : orders.render()))
        var balances = TextTable(["asset", "amount", "seq"], rightAligned: [1, 2])
        for asset in local.balances.keys.sorted() {
            let b = local.balances[asset]!
            balances.add([asset.string + (b.synthetic ? " *" : ""), "\(b.amount)", "\(b.lastSeq)"])
        }
        print("balances:\n" + (balances.rows.isEmpty ? "  (none)" : balances.render()))
        if local.positions.values.contains(where: \.synthetic) || local.balances.values.contains(where: \.synthetic) {
            print("  * built in part by a correction")
        }
    }

    private func printRemote(_ remote: RemoteProjection) {
        let asOf = remote.latestAsOfMs.map { ", data valid at \(isoTime($0))" } ?? ""
        print("\nREMOTE (what the venue said), last changed at seq \(remote.lastSeq)\(asOf)")
        if remote.positions.isKnown {
            var positions = TextTable(["symbol", "qty", "entry", "seq"], rightAligned: [1, 2, 3])
            for (symbol, e) in remote.positions.items.sorted(by: { $0.key < $1.key }) {
                positions.add([symbol, "\(e.item.qty)", "\(e.item.entryPrice)", "\(e.seq)"])
            }
            print("positions:\n" + (positions.rows.isEmpty ? "  (flat)" : positions.render()))
        } else {
            print("positions:\n  (unknown: never reported)")
        }
        if remote.openOrders.isKnown {
            var orders = TextTable(["order", "symbol", "side", "qty", "remaining", "price", "seq"], rightAligned: [3, 4, 5, 6])
            for (id, e) in remote.openOrders.items.sorted(by: { $0.key < $1.key }) {
                orders.add([id, e.item.symbol, e.item.side.rawValue, "\(e.item.qty)", "\(e.item.remaining)", e.item.price.map { "\($0)" } ?? "-", "\(e.seq)"])
            }
            print("open orders:\n" + (orders.rows.isEmpty ? "  (none)" : orders.render()))
        } else {
            print("open orders:\n  (unknown: never reported)")
        }
        if let balances = remote.balances {
            var table = TextTable(["asset", "total", "seq"], rightAligned: [1, 2])
            for asset in balances.keys.sorted() { table.add([asset, "\(balances[asset]!.total)", "\(remote.balancesSeq)"]) }
            print("balances:\n" + (table.rows.isEmpty ? "  (none)" : table.render()))
        } else {
            print("balances:\n  (unknown: never reported)")
        }
    }
}

extension AccountProjection.Side: ExpressibleByArgument {}

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Write missing projection checkpoints (derived data).",
        discussion: """
            Checkpoints let `recon state` and runs at any point start near it instead \
            of at the beginning. They are derived from the log: --rebuild deletes and \
            rewrites them, and deleting them changes no answer.
            """
    )

    @OptionGroup var data: DataOptions

    @Flag(help: "Delete every checkpoint first (with --every: respace them all).")
    var rebuild = false

    @Option(name: .customLong("every"), help: ArgumentHelp(
        "Events between checkpoints, kept as the data folder's setting for every later writer (default \(CheckpointStore.defaultInterval)).",
        discussion: "Smaller: faster as-of reads (each folds half an interval on average), more storage. Groups already written stay where they are unless --rebuild.",
        valueName: "N"))
    var every: UInt64?

    func validate() throws {
        if let every, !CheckpointStore.intervalRange.contains(every) {
            throw ValidationError("--every must be \(CheckpointStore.intervalRange.lowerBound)...\(CheckpointStore.intervalRange.upperBound) events")
        }
    }

    func run() throws {
        let log = try data.openLog()
        let store = CheckpointStore(log: log)
        if let every { try store.setInterval(every) }
        if rebuild { try store.deleteAll() }
        let written = try store.catchUp { done, total in Console.progress("checkpoint", done, total) }
        print("wrote \(written) checkpoint groups; \(try store.groupCount()) in all, every \(try store.interval()) events")
    }
}
