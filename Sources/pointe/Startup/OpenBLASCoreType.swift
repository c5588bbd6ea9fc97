import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes OpenBLAS use the kernels this CPU supports.
///
/// Debian's OpenBLAS picks its kernels when the library loads, from the CPU model number. On
/// virtual machines that report a generic model ("Intel Xeon Processor") it falls back to the
/// 2004 Prescott kernels and runs sgemm at a fraction of the machine's speed (measured here:
/// ~29 vs ~200 GFLOP/s on an AVX-512 VM). The choice can only be changed through
/// OPENBLAS_CORETYPE before the library loads, so when the user has not set it we choose from the
/// CPU's feature flags and re-execute ourselves once with it set.
enum OpenBLASCoreType {
    static let variable = "OPENBLAS_CORETYPE"

    static func reexecIfNeeded() {
        guard getenv(variable) == nil, let core = bestCoreType() else { return }
        setenv(variable, core, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // exec failed (no /proc?): carry on with whatever kernels the library chose.
    }

    /// The OpenBLAS core name for the widest vector unit this CPU reports, or nil to let the
    /// library decide (non-x86 or unknown).
    static func bestCoreType() -> String? {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(flags.contains) { return "SKYLAKEX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "HASWELL" }
        return nil
    }
}
