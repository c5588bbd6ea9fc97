import Foundation

/// OpenBLAS's kernel sets ("core types", chosen through OPENBLAS_CORETYPE before the library
/// loads) that this CPU can run. Debian's OpenBLAS picks from the CPU model number, and on
/// virtual machines that report a generic model it falls back to the 2004 Prescott kernels
/// (measured: ~29 vs ~200 GFLOP/s sgemm on an AVX-512 VM), so pointe chooses from the CPU's
/// feature flags instead (the CLI sets the variable and re-executes itself). Each set sums
/// sgemm's products in its own order, so their results differ in the last bits; parity holds
/// under each (ParityUnderEachOpenBLASKernelTests runs the fixtures under every one listed here).
public enum OpenBLASCoreType {
    public static let variable = "OPENBLAS_CORETYPE"

    /// The core types a CPU with these /proc/cpuinfo flags runs, oldest first: PRESCOTT (SSE3),
    /// HASWELL (AVX2 + FMA), SKYLAKEX (AVX-512 F/BW/VL/DQ/CD). Empty off x86-64, where the
    /// library decides.
    public static func runnable(cpuFlags: Set<String>) -> [String] {
        let sets: [(core: String, flags: [String])] = [
            ("PRESCOTT", ["pni"]),  // /proc/cpuinfo calls SSE3 "pni"
            ("HASWELL", ["avx2", "fma"]),
            ("SKYLAKEX", ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]),
        ]
        return sets.filter { $0.flags.allSatisfy(cpuFlags.contains) }.map(\.core)
    }

    /// The core types this machine runs (from /proc/cpuinfo; empty where it cannot be read).
    public static var runnableHere: [String] {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        return runnable(cpuFlags: Set(flagsLine.split(separator: " ").map(String.init)))
    }

    /// The widest set this machine runs (nil: let the library decide). PRESCOTT is never chosen:
    /// it is what the library falls back to anyway, and only ever slower.
    public static var bestHere: String? { runnableHere.last.flatMap { $0 == "PRESCOTT" ? nil : $0 } }
}
