import ArgumentParser

/// The allowed values of the numeric options, checked in each command's `validate()` (where the
/// input enters, before anything is made), each refusal naming its option. Bounds of settings
/// that also arrive by other ways (prompt lines, the wire, a job's store) belong to the library
/// (SamplingSettings.stepCounts, PointCloudMesher.gridSizes) and are only applied here.
/// Numeric options are declared with `parsing: .unconditional`, so that `--steps -1` reaches
/// these checks instead of being taken for an unknown flag ("Missing value").
enum OptionBounds {
    /// Milliseconds a timeout may be: a day at most (larger ones overflowed deadline sums).
    static let timeoutMs: ClosedRange<UInt64> = 1...86_400_000
    /// Restarts of a crashing local worker or mesher.
    static let restartBudget = 0...1000
    /// Prompts sampled together by one worker: memory grows with each (the upsampler's
    /// attention is about a gigabyte a prompt at full size).
    static let batch = 1...256
    /// Local peer processes of one command.
    static let localPeers = 0...1024

    static func check<T: Comparable>(_ value: T?, _ range: ClosedRange<T>, _ flag: String, _ why: String = "") throws {
        guard let value, !range.contains(value) else { return }
        throw ValidationError("\(flag) must be \(range.lowerBound) to \(range.upperBound), got \(value)" + (why.isEmpty ? "" : " (\(why))"))
    }

    /// A real number that must be finite and at least `minimum` (above it when `exclusive`).
    static func check(_ value: Double?, atLeast minimum: Double, exclusive: Bool = false, _ flag: String) throws {
        guard let value else { return }
        guard value.isFinite, exclusive ? value > minimum : value >= minimum else {
            throw ValidationError("\(flag) must be a finite number \(exclusive ? "above" : "of at least") \(minimum), got \(value)")
        }
    }

    /// A library setting's own problem (nil: none), as a refusal naming the option.
    static func check(_ problem: String?, _ flag: String) throws {
        if let problem { throw ValidationError("\(flag) \(problem)") }
    }
}
