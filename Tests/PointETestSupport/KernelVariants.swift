import PointETensor

/// The kernel variants the fixture tests run under: the portable baseline and the best one this
/// CPU has (the two a user's machines differ by; every variant is also compared bit for bit in
/// KernelVariantTests). The process's active variant is restored afterwards.
public func underEachTestedKernelVariant(_ body: (KernelVariant) throws -> Void) throws {
    let original = KernelVariant.active
    defer { try? KernelVariant.use(original) }
    for variant in Set([KernelVariant.baseline, KernelVariant.best]).sorted(by: { $0.rawValue < $1.rawValue }) {
        try KernelVariant.use(variant)
        try body(variant)
    }
}
