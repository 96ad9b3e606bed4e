import ArgumentParser
import ReconCore

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a realistic synthetic event log as NDJSON.",
        discussion: """
            Simulates a market-making session: a venue holds the truth, the bot logs \
            what it believed, and the venue's snapshots and trade history say what \
            really happened. Deterministic per --seed. Without faults the two sides \
            agree exactly; each injected fault is announced on stderr with the seq it \
            lands at in a fresh log, so `recon drift` can be checked against it.

            Faults: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")).
            Place one explicitly with KIND@N (the event number), e.g. missed_fill@4000.

            Example:
              recon generate --events 100000 --seed 7 --faults missed_fill,lost_order > day.ndjson
            """
    )

    @Option(help: "How many events.")
    var events = 10_000

    @Option(help: "Random seed; the same seed gives the same log.")
    var seed: UInt64 = 1

    @Option(help: "How many accounts (acct1, acct2, …).")
    var accounts = 1

    @Option(help: "How many symbols (SYM0-PERP, …).")
    var symbols = 10

    @Option(help: "Comma-separated faults to inject (KIND or KIND@EVENT).")
    var faults: String = ""

    func validate() throws {
        guard events > 0 && events <= 100_000_000 else { throw ValidationError("--events must be 1...100000000") }
        guard accounts > 0 && accounts <= 1_000 else { throw ValidationError("--accounts must be 1...1000") }
        guard symbols > 0 && symbols <= 100_000 else { throw ValidationError("--symbols must be 1...100000") }
        _ = try parsedFaults()
    }

    func parsedFaults() throws -> [FaultRequest] {
        try faults.split(separator: ",").map { text in
            guard let request = FaultRequest(parsing: text) else {
                throw ValidationError("unknown fault \"\(text)\"; known: \(FaultKind.allCases.map(\.rawValue).joined(separator: ", ")) (optionally KIND@EVENT)")
            }
            return request
        }
    }

    func run() throws {
        var options = GeneratorOptions()
        options.events = events
        options.seed = seed
        options.accounts = accounts
        options.symbols = symbols
        options.faults = try parsedFaults()
        let generator = SyntheticGenerator(options: options)
        var out = OutputBuffer()
        while let event = generator.next() {
            var line = event.jsonObject()
            line.append(0x0A)
            out.write(line)
        }
        out.flush()
        for fault in generator.faults {
            Console.error(fault.announcement)
        }
    }
}

extension InjectedFault {
    /// One line naming the fault and where to find it.
    var announcement: String {
        var text = "fault \(kind.rawValue) account=\(account) seq=\(seq)"
        if let revealedAtSeq { text += " revealed_at_seq=\(revealedAtSeq)" }
        text += " subject=\(subject)"
        if let symbol { text += " symbol=\(symbol)" }
        return text + " (\(note))"
    }
}
