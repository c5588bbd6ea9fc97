import ArgumentParser
import Foundation
import PointETensor

/// How many threads a computing command (worker, mesher, generate, sample, mesh) runs its
/// kernels on, and which CPUs it may run on. Applied once at the command's start, before any
/// work, so every kernel sees the same count. `pointe run` gives its local workers both,
/// one disjoint share of the machine each.
struct ThreadOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads the kernels run on (default: the cores this process may use: its CPU affinity, capped by its cgroup's CPU quota). The results are the same for every count.")
    var threads: Int?
    @Option(help: "Pin this process to these CPUs, a list like 0-3,8 (taskset -c syntax); each must be one this process may use.")
    var cpus: String?

    func validate() throws {
        do { try CoreSplit.check(workers: nil, threads: threads) } catch { throw ValidationError("\(error)") }
        _ = try cpuSet()
    }

    func cpuSet() throws -> CPUSet? {
        guard let cpus else { return nil }
        do { return try CPUSet(parsing: cpus) } catch { throw ValidationError("--cpus: \(error)") }
    }

    /// Pins the process (--cpus), then sets the kernels' thread count: --threads, else the
    /// cores it may use after the pin.
    func apply() throws {
        if let set = try cpuSet() {
            do { try set.pinProcess() } catch { throw CommandFailure("--cpus \(cpus!): \(error)") }
        }
        let cores = MachineCores.usable()
        let count = threads ?? cores
        if count > cores {
            printError("pointe: --threads \(count) is more than the \(cores) core(s) this process may use; the threads will take turns on them")
        }
        Parallel.setThreadCount(count)
    }
}
