import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure hot paths against a raw LMDB baseline in the same run.",
        discussion: """
            Each benchmark reports throughput and its ratio to a baseline measured in \
            the same run (raw LMDB append or cursor scan of the same bytes), because \
            absolute numbers on a shared machine are noise. Results go to stdout as a \
            table; BENCHMARKS.md records them.
            """,
        subcommands: [BenchAppendCommand.self, BenchReplayCommand.self, BenchReconcileCommand.self, BenchDriftCommand.self,
                      BenchWhatIfCommand.self, BenchMatchCommand.self, BenchServeCommand.self]
    )
}
