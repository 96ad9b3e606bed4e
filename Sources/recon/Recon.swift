import ArgumentParser

/// The `recon` command: one root with nested subcommands.
@main
struct Recon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recon",
        abstract: "Event-sourced reconciliation for trading systems.",
        discussion: """
            Recon keeps one append-only log of what a bot did (orders, fills) and what \
            the exchange said (snapshots, trade history), folds it into a local and a \
            remote view, and reports where they differ, at any point in time.

            The log lives in a data folder: --data DIR, else $RECON_DATA, else ./recon-data.

            Start here:
              recon append events.ndjson        add events (NDJSON, one per line)
              recon events --type fill          print events back as NDJSON
              recon verify                      check the log's integrity
              recon state --account bot1        local and remote state, now or --at SEQ
              recon serve                       the live service (HTTP ingest, alerts, metrics)
            """,
        subcommands: [
            AppendCommand.self,
            EventsCommand.self,
            VerifyCommand.self,
            StateCommand.self,
            ReconcileCommand.self,
            ReplayCommand.self,
            DriftCommand.self,
            DiffCommand.self,
            PositionsCommand.self,
            CorrectCommand.self,
            StatusCommand.self,
            ExposureCommand.self,
            WhatIfCommand.self,
            AuditCommand.self,
            CheckCommand.self,
            CheckpointCommand.self,
            GenerateCommand.self,
            DemoCommand.self,
            BenchCommand.self,
            ServeCommand.self,
            AlertCommand.self,
        ]
    )
}
