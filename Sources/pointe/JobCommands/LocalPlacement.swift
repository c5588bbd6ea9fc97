import PointETensor

/// Where `pointe run`'s (and `pointe remesh`'s) local workers and meshers run: the CPUs the
/// launcher may use, divided among the workers by a `CoreSplit`, each worker pinned to its own
/// share (`--cpus`) with one thread per CPU of it (`--threads`), so the workers never compete
/// for a core.
///
/// Meshers work only while a cloud waits for its mesh, a small part of a prompt's cost (a
/// grid-128 mesh is ~5% of a 64-step sample), so a mesher beside workers takes all of the
/// launcher's CPUs and threads for the mesh and shares them with the workers meanwhile, rather
/// than holding cores of its own idle between clouds. Without workers (`pointe remesh`) the
/// meshers are the only work and divide the CPUs among themselves like workers.
struct LocalPlacement {
    /// The CPUs the launcher may use (MachineCores.usableCPUs).
    var cpus: CPUSet
    var split: CoreSplit
    var meshers: Int

    /// Options of each worker: its thread count, and its share of the CPUs unless the split
    /// needs more CPUs than there are (see CoreSplit.oversubscription): the workers then run
    /// unpinned on all of them.
    func workerArguments() -> [[String]] { Self.arguments(split, on: cpus) }

    func mesherArguments() -> [[String]] {
        guard split.workers == 0 else {
            return Array(repeating: ["--threads", String(cpus.count), "--cpus", cpus.description], count: meshers)
        }
        return Self.arguments(CoreSplit(workers: meshers, threads: max(1, cpus.count / max(1, meshers))), on: cpus)
    }

    static func arguments(_ split: CoreSplit, on cpus: CPUSet) -> [[String]] {
        let shares = split.shares(of: cpus)
        return (0..<split.workers).map { i in ["--threads", String(split.threads)] + (shares.map { ["--cpus", $0[i].description] } ?? []) }
    }
}
