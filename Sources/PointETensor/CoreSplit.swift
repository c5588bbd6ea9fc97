/// How one machine's cores are divided among local worker processes: `workers` processes of
/// `threads` threads each. `pointe run` starts its workers this way (each pinned to a share of
/// its own), and `pointe bench throughput` measures the splits.
public struct CoreSplit: Equatable, Sendable, CustomStringConvertible {
    public var workers: Int
    public var threads: Int

    public init(workers: Int, threads: Int) {
        self.workers = workers
        self.threads = threads
    }

    public var description: String { "\(workers) x \(threads)" }

    /// Threads per worker when neither count is given: the best split of `pointe bench
    /// throughput` (README, "Throughput of one machine"), so the default is `cores / 1`
    /// single-threaded workers.
    public static let defaultThreadsPerWorker = 1

    /// Throws, naming the option, for counts below their minimum.
    /// Most workers or threads a command may ask for: each is a process or a thread with its
    /// own buffers, and no machine this runs on has more cores.
    public static let maxCount = 1024

    public static func check(workers: Int?, threads: Int?) throws {
        if let workers, !(0...maxCount).contains(workers) { throw CPUError("--workers must be 0 to \(maxCount), got \(workers)") }
        if let threads, !(1...maxCount).contains(threads) { throw CPUError("--threads must be 1 to \(maxCount), got \(threads)") }
    }

    /// The split for `cores` usable cores from what the command line gave: a missing count is
    /// the cores divided by the other (at least 1), neither given is the measured default.
    public static func resolve(workers: Int?, threads: Int?, cores: Int) throws -> CoreSplit {
        try check(workers: workers, threads: threads)
        switch (workers, threads) {
        case let (w?, t?): return CoreSplit(workers: w, threads: t)
        case let (w?, nil): return CoreSplit(workers: w, threads: max(1, cores / max(1, w)))
        case let (nil, t?): return CoreSplit(workers: max(1, cores / t), threads: t)
        case (nil, nil):
            let t = min(defaultThreadsPerWorker, cores)
            return CoreSplit(workers: max(1, cores / t), threads: t)
        }
    }

    /// Each worker's CPUs: consecutive, disjoint runs of `threads` CPUs from `cpus`; nil when
    /// the split needs more CPUs than there are (the workers then share all of them).
    public func shares(of cpus: CPUSet) -> [CPUSet]? {
        guard workers * threads <= cpus.count else { return nil }
        return (0..<workers).map { CPUSet(cpus.cpus[($0 * threads)..<(($0 + 1) * threads)]) }
    }

    /// Why the split oversubscribes `cores` cores, or nil when it does not.
    public func oversubscription(cores: Int) -> String? {
        guard workers * threads > cores else { return nil }
        return "\(workers) workers x \(threads) threads = \(workers * threads) threads on \(cores) usable cores: the workers share the cores (unpinned) and each runs slower"
    }

    /// The splits worth measuring on `cores` cores: every workers x threads = cores, and one
    /// single-threaded worker (how much one core does alone), most threads per worker first.
    public static func candidates(cores: Int) -> [CoreSplit] {
        let exact = (1...max(1, cores)).filter { cores % $0 == 0 }.map { CoreSplit(workers: $0, threads: cores / $0) }
        return (cores > 1 ? [CoreSplit(workers: 1, threads: 1)] : []) + exact
    }
}
