import Dispatch

/// Runs `work` for jobs `0..<jobs`, at once where cores are free, and returns
/// when all are done. `DispatchQueue.concurrentPerform`, which the calling thread
/// joins: with every pool thread busy it runs them all itself, so no job waits.
///
/// The compiler cannot see that the jobs touch disjoint state (each writes only
/// its own results), so `work` is not required to be `Sendable`: that is the
/// caller's promise.
func performConcurrently(_ jobs: Int, _ work: (Int) -> Void) {
    withoutActuallyEscaping(work) { work in
        let shared = PromisedSendable(work)
        DispatchQueue.concurrentPerform(iterations: jobs) { shared.value($0) }
    }
}

private struct PromisedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
