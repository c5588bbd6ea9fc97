import Foundation
import PointETensor
import PointETestSupport
import XCTest

/// Parity holds whichever kernels OpenBLAS runs: `pointe parity` on every fixture under each
/// core type this CPU can run (OPENBLAS_CORETYPE set for the child, whatever this process has).
/// Their sgemm sums in different orders, and free-running samplers amplify the difference
/// (SamplerParity.freeRunningMaxTolerance says how far); a tolerance that holds only under the
/// kernels of the machine it was set on fails here.
final class ParityUnderEachOpenBLASKernelTests: XCTestCase {
    func testEveryFixturePassesUnderEachCoreType() throws {
        let cores = OpenBLASCoreType.runnableHere
        guard !cores.isEmpty else { throw XCTSkip("not x86-64 (/proc/cpuinfo has no SSE3): OpenBLAS picks its own kernels") }
        for core in cores {
            let result = try Subprocess.run("/usr/bin/env", ["\(OpenBLASCoreType.variable)=\(core)", try BuiltTool.pointe(),
                                                             "parity", Fixtures.directory.path], timeout: 600)
            XCTAssertEqual(result.status, 0, "\(OpenBLASCoreType.variable)=\(core) pointe parity: \(result.output)")
            XCTAssertTrue(result.output.contains(" 0 failed, 0 errors"), "\(core): \(result.output)")
        }
    }

    func testCoreTypesFollowTheCPUFlags() {
        XCTAssertEqual(OpenBLASCoreType.runnable(cpuFlags: []), [])
        XCTAssertEqual(OpenBLASCoreType.runnable(cpuFlags: ["pni", "avx2"]), ["PRESCOTT"], "AVX2 without FMA runs no Haswell kernels")
        XCTAssertEqual(OpenBLASCoreType.runnable(cpuFlags: ["pni", "avx2", "fma", "avx512f"]), ["PRESCOTT", "HASWELL"],
                       "AVX-512 F alone is not enough for SKYLAKEX")
        XCTAssertEqual(OpenBLASCoreType.runnable(cpuFlags: ["pni", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]),
                       ["PRESCOTT", "HASWELL", "SKYLAKEX"])
    }
}
