import Foundation
import PointETensor
#if canImport(Glibc)
import Glibc
#endif

extension OpenBLASCoreType {
    /// Makes OpenBLAS use the widest kernels this CPU supports (`bestHere`). The choice can only
    /// be made through OPENBLAS_CORETYPE before the library loads, so when the user has not set
    /// it we set it and re-execute ourselves once; a value the user set is kept.
    static func reexecIfNeeded() {
        guard getenv(variable) == nil, let core = bestHere else { return }
        setenv(variable, core, 1)
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv("/proc/self/exe", &argv)
        // exec failed (no /proc?): carry on with whatever kernels the library chose.
    }
}
