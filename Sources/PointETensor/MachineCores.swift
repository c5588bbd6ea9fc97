/// The cores this process can keep busy: the CPUs its affinity allows, capped by its cgroup's
/// CPU quota rounded up; at least 1. What the kernels' thread count defaults to, and what
/// `pointe run` divides among its workers.
public enum MachineCores {
    public static func usable(affinity: Int, quota: CPUQuota?) -> Int {
        max(1, min(affinity, quota?.cores ?? Int.max))
    }

    public static func usable() -> Int { usable(affinity: CPUSet.current().count, quota: CPUQuota.current()) }

    /// The CPUs to compute on: the first `usable()` of the allowed ones (a quota of N cores is
    /// N cores' time whichever CPUs run it, so pinning to N of them loses nothing).
    public static func usableCPUs() -> CPUSet {
        let allowed = CPUSet.current()
        return CPUSet(allowed.cpus.prefix(usable(affinity: allowed.count, quota: CPUQuota.current())))
    }
}
