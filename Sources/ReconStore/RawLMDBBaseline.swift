import CLMDB
public import ReconCore

/// The benchmarks' baseline: raw LMDB with no engine around it, measured in the
/// same run as the engine so ratios survive a noisy machine.
public enum RawLMDBBaseline {
    /// Appends `records` under big-endian seq keys with `MDB_APPEND`, committing
    /// (durably unless `durable` is false) every `batchSize` records. Returns seconds.
    public static func append(records: [[UInt8]], batchSize: Int, directory: String, durable: Bool = true) throws -> Double {
        let log = try EventLog(directory: directory)  // creates the folder and tables
        if !durable { mdb_env_set_flags(log.env.handle, UInt32(MDB_NOSYNC), 1) }
        let start = monotonicSeconds()
        var seq: UInt64 = 0
        var index = 0
        while index < records.count {
            let txn = try LMDBTransaction(log.env, readOnly: false)
            let end = min(index + batchSize, records.count)
            for record in records[index..<end] {
                seq += 1
                var key = seq.bigEndian
                try withUnsafeBytes(of: &key) { k in
                    try record.withUnsafeBytes { v in try txn.put(log.events, key: k, value: v, flags: MDB_APPEND) }
                }
            }
            try txn.commit()
            index = end
        }
        return monotonicSeconds() - start
    }

    /// Walks every record of the log with a raw cursor, reading every byte of
    /// each value once (a word-wise sum), so the baseline pays for bringing the
    /// data in as the engine must. Returns (records, seconds, sum).
    public static func scan(_ log: EventLog) throws -> (records: Int, seconds: Double, checksum: UInt64) {
        let start = monotonicSeconds()
        var count = 0
        var sum: UInt64 = 0
        try log.read { reader in
            try reader.scanRaw(from: 1) { _, bytes in
                count += 1
                var i = 0
                while i + 8 <= bytes.count {
                    sum &+= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    i += 8
                }
                while i < bytes.count {
                    sum &+= UInt64(bytes[i])
                    i += 1
                }
                return true
            }
        }
        return (count, monotonicSeconds() - start, sum)
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Seconds on the monotonic clock, for measuring durations only.
public func monotonicSeconds() -> Double {
    clockSeconds(CLOCK_MONOTONIC)
}

private func clockSeconds(_ clock: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time used so far by the calling thread and by the whole process, for
/// splitting a benchmark's time between the caller's thread and the others
/// (a replay's decoding thread): the slower of the two bounds a replay.
public struct CPUTimes: Sendable {
    public var thisThread: Double
    public var process: Double

    public static func now() -> CPUTimes {
        CPUTimes(thisThread: clockSeconds(CLOCK_THREAD_CPUTIME_ID), process: clockSeconds(CLOCK_PROCESS_CPUTIME_ID))
    }

    /// This thread's seconds since `start`, and every other thread's.
    public func since(_ start: CPUTimes) -> (thisThread: Double, otherThreads: Double) {
        let mine = thisThread - start.thisThread
        return (mine, max(0, process - start.process - mine))
    }
}

extension EventLog {
    /// The encoded record bytes the log would store for `event` (benchmarks).
    public static func recordBytes(for event: Event, ingestMs: Int64) -> [UInt8] {
        var content = ByteWriter()
        let lists = EventCodec.encode(event, into: &content)
        var w = ByteWriter()
        content.withUnsafeBytes { LogRecord.write(content: $0, lists: lists, chain: 0, ingestMs: ingestMs, into: &w) }
        return w.bytes
    }
}
