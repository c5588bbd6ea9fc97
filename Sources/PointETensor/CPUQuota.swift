import Foundation

/// A cgroup's CPU bandwidth limit: `quota` microseconds of CPU time every `period`
/// microseconds, i.e. quota / period cores' worth (a container's `--cpus 2`, Kubernetes'
/// `limits.cpu`, systemd's CPUQuota=). Threads beyond it do not run faster, they are throttled.
public struct CPUQuota: Equatable, Sendable {
    public var quota: Int
    public var period: Int

    public init(quota: Int, period: Int) {
        self.quota = quota
        self.period = period
    }

    /// Whole cores the quota pays for, rounded up (1.5 cores: 2 threads keep it busy), at least 1.
    public var cores: Int { max(1, (quota + period - 1) / period) }

    /// cgroup v2 `cpu.max`: "max 100000" (no limit: nil) or "200000 100000".
    public static func parseV2(_ text: String) throws -> CPUQuota? {
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let period = Int(fields[1]), period > 0 else {
            throw CPUError("cgroup cpu.max \"\(text)\": expected \"QUOTA PERIOD\" or \"max PERIOD\"")
        }
        if fields[0] == "max" { return nil }
        guard let quota = Int(fields[0]), quota > 0 else { throw CPUError("cgroup cpu.max \"\(text)\": quota is not a positive number or max") }
        return CPUQuota(quota: quota, period: period)
    }

    /// cgroup v1 `cpu.cfs_quota_us` ("-1": no limit, nil) and `cpu.cfs_period_us`.
    public static func parseV1(quota quotaText: String, period periodText: String) throws -> CPUQuota? {
        let q = quotaText.trimmingCharacters(in: .whitespacesAndNewlines), p = periodText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let quota = Int(q), quota == -1 || quota > 0 else { throw CPUError("cgroup cpu.cfs_quota_us \"\(q)\": expected -1 or a positive number") }
        guard let period = Int(p), period > 0 else { throw CPUError("cgroup cpu.cfs_period_us \"\(p)\": expected a positive number") }
        return quota == -1 ? nil : CPUQuota(quota: quota, period: period)
    }

    /// The tightest quota on this process: its cgroup's and every ancestor's (a parent's limit
    /// binds its children), v2 or v1, found from `/proc/self/cgroup`'s text. `read` returns a
    /// file's text or nil when it does not exist (injected so tests give the files). The
    /// cgroup's root is included because inside a container the path /proc/self/cgroup shows
    /// may be the host's, while the container's own limit sits at its mount's root. A file the
    /// kernel wrote in a format we do not know is skipped: the affinity still bounds the count.
    public static func find(procSelfCgroup: String, root: String = "/sys/fs/cgroup", read: (String) -> String?) -> CPUQuota? {
        var found: [CPUQuota] = []
        for line in procSelfCgroup.split(separator: "\n") {
            // "ID:CONTROLLERS:PATH"; v2's line is "0::PATH".
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[0] == "0" && fields[1].isEmpty {
                for directory in ancestors(root, path) {
                    if let text = read(directory + "/cpu.max"), let quota = try? parseV2(text) { found.append(quota) }
                }
            } else if fields[1].split(separator: ",").contains("cpu") {
                for mount in [root + "/cpu", root + "/cpu,cpuacct"] {
                    for directory in ancestors(mount, path) {
                        if let q = read(directory + "/cpu.cfs_quota_us"), let p = read(directory + "/cpu.cfs_period_us"),
                           let quota = try? parseV1(quota: q, period: p) { found.append(quota) }
                    }
                }
            }
        }
        return found.min { $0.cores < $1.cores }
    }

    /// `mount + path`, then each parent directory up to `mount` itself.
    static func ancestors(_ mount: String, _ path: String) -> [String] {
        var components = path.split(separator: "/").map(String.init)
        var directories: [String] = []
        while true {
            directories.append(([mount] + components).joined(separator: "/"))
            guard !components.isEmpty else { return directories }
            components.removeLast()
        }
    }

    /// This process's quota, from the live cgroup files.
    public static func current() -> CPUQuota? {
        guard let cgroup = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        return find(procSelfCgroup: cgroup) { try? String(contentsOfFile: $0, encoding: .utf8) }
    }
}
