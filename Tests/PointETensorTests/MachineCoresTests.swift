import XCTest
@testable import PointETensor

/// The usable-core rules (CPU lists, cgroup quotas, affinity), from given inputs rather than
/// this machine's cgroup.
final class MachineCoresTests: XCTestCase {
    func testCPUListsParseAndPrintInTasksetSyntax() throws {
        XCTAssertEqual(try CPUSet(parsing: "0-3,8").cpus, [0, 1, 2, 3, 8])
        XCTAssertEqual(try CPUSet(parsing: "5,1,1-2").cpus, [1, 2, 5])
        XCTAssertEqual(try CPUSet(parsing: "7").description, "7")
        XCTAssertEqual(CPUSet([0, 1, 2, 3, 8, 10, 11]).description, "0-3,8,10-11")
        for bad in ["", "a", "3-1", "1,,2", "-1", "1-", "0-3-5", "9000"] {
            XCTAssertThrowsError(try CPUSet(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".contains("\"\(bad)\"") || "\(error)".contains("9000"), "the error names the value: \(error)")
            }
        }
    }

    func testQuotaFilesParse() throws {
        XCTAssertNil(try CPUQuota.parseV2("max 100000\n"))
        XCTAssertEqual(try CPUQuota.parseV2("200000 100000\n"), CPUQuota(quota: 200000, period: 100000))
        XCTAssertEqual(try CPUQuota.parseV2("150000 100000")?.cores, 2, "1.5 cores round up")
        XCTAssertEqual(try CPUQuota.parseV2("10000 100000")?.cores, 1, "a tenth of a core is still one thread")
        XCTAssertNil(try CPUQuota.parseV1(quota: "-1\n", period: "100000\n"))
        XCTAssertEqual(try CPUQuota.parseV1(quota: "400000\n", period: "100000\n")?.cores, 4)
        for bad in ["", "max", "abc 100000", "100000 0", "0 100000"] {
            XCTAssertThrowsError(try CPUQuota.parseV2(bad), bad)
        }
        XCTAssertThrowsError(try CPUQuota.parseV1(quota: "-5", period: "100000"))
    }

    /// v2: the process's own cgroup and its ancestors bind (the tightest wins); v1: a
    /// container's limit at its mount root binds even when /proc/self/cgroup shows a host path.
    func testTheTightestQuotaOverTheCgroupAndItsAncestorsIsFound() {
        let v2 = ["/sys/fs/cgroup/cpu.max": "max 100000", "/sys/fs/cgroup/kubepods/cpu.max": "800000 100000",
                  "/sys/fs/cgroup/kubepods/pod1/cpu.max": "250000 100000", "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000"]
        XCTAssertEqual(CPUQuota.find(procSelfCgroup: "0::/kubepods/pod1/c1\n") { v2[$0] }?.cores, 3)
        XCTAssertNil(CPUQuota.find(procSelfCgroup: "0::/\n") { v2[$0] }, "the root alone has no limit")

        let v1 = ["/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "200000", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000"]
        let cgroup = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/system.slice\n"
        XCTAssertEqual(CPUQuota.find(procSelfCgroup: cgroup) { v1[$0] }?.cores, 2)
        XCTAssertNil(CPUQuota.find(procSelfCgroup: cgroup) { _ in nil }, "no files: no limit")
        XCTAssertNil(CPUQuota.find(procSelfCgroup: "0::/a\n") { _ in "garbage" }, "an unknown format is skipped, not a limit")
    }

    func testUsableCoresAreTheAffinityCappedByTheQuota() {
        XCTAssertEqual(MachineCores.usable(affinity: 64, quota: nil), 64)
        XCTAssertEqual(MachineCores.usable(affinity: 64, quota: CPUQuota(quota: 250000, period: 100000)), 3)
        XCTAssertEqual(MachineCores.usable(affinity: 2, quota: CPUQuota(quota: 800000, period: 100000)), 2)
        XCTAssertEqual(MachineCores.usable(affinity: 0, quota: nil), 1)
        // This process: what it may run on, within what the machine has.
        XCTAssertGreaterThanOrEqual(MachineCores.usable(), 1)
        XCTAssertLessThanOrEqual(MachineCores.usable(), ProcessInfo.processInfo.processorCount)
        XCTAssertEqual(MachineCores.usableCPUs().count, MachineCores.usable())
    }

    func testSplitsDivideTheCoresWithoutOversubscribing() throws {
        XCTAssertEqual(try CoreSplit.resolve(workers: nil, threads: nil, cores: 8),
                       CoreSplit(workers: 8 / CoreSplit.defaultThreadsPerWorker, threads: CoreSplit.defaultThreadsPerWorker))
        XCTAssertEqual(try CoreSplit.resolve(workers: nil, threads: nil, cores: 1), CoreSplit(workers: 1, threads: 1))
        XCTAssertEqual(try CoreSplit.resolve(workers: 2, threads: nil, cores: 8), CoreSplit(workers: 2, threads: 4))
        XCTAssertEqual(try CoreSplit.resolve(workers: 3, threads: nil, cores: 2), CoreSplit(workers: 3, threads: 1))
        XCTAssertEqual(try CoreSplit.resolve(workers: nil, threads: 4, cores: 8), CoreSplit(workers: 2, threads: 4))
        XCTAssertEqual(try CoreSplit.resolve(workers: nil, threads: 16, cores: 8), CoreSplit(workers: 1, threads: 16))
        XCTAssertThrowsError(try CoreSplit.resolve(workers: -1, threads: nil, cores: 8)) { XCTAssertTrue("\($0)".contains("--workers")) }
        XCTAssertThrowsError(try CoreSplit.resolve(workers: 1, threads: 0, cores: 8)) { XCTAssertTrue("\($0)".contains("--threads must be 1 to 1024, got 0")) }

        let cpus = try CPUSet(parsing: "0-3,8-11")
        XCTAssertEqual(CoreSplit(workers: 2, threads: 4).shares(of: cpus)?.map(\.description), ["0-3", "8-11"])
        XCTAssertEqual(CoreSplit(workers: 3, threads: 2).shares(of: cpus)?.map(\.description), ["0-1", "2-3", "8-9"])
        XCTAssertNil(CoreSplit(workers: 3, threads: 3).shares(of: cpus), "9 threads on 8 CPUs cannot be disjoint")
        XCTAssertNil(CoreSplit(workers: 2, threads: 4).oversubscription(cores: 8))
        XCTAssertEqual(CoreSplit(workers: 3, threads: 3).oversubscription(cores: 8)?.contains("9 threads on 8 usable cores"), true)

        XCTAssertEqual(CoreSplit.candidates(cores: 2).map(\.description), ["1 x 1", "1 x 2", "2 x 1"])
        XCTAssertEqual(CoreSplit.candidates(cores: 1).map(\.description), ["1 x 1"])
        XCTAssertEqual(CoreSplit.candidates(cores: 6).map(\.description), ["1 x 1", "1 x 6", "2 x 3", "3 x 2", "6 x 1"])
    }
}
