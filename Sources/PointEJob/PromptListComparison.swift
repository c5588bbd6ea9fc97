import Foundation
import PointEEngine

/// A prompt file given again to the job made from it: the same list (resume), the same list
/// with prompts after it (they may be added), or a different one (refused, with what differs).
public enum PromptListComparison: Equatable, Sendable {
    case same
    /// Every stored prompt is the file's, in order; the file has these after them.
    case grown([PromptEntry])
    /// What differs, one line each (the first few).
    case different([String])

    /// Compares the job's prompts with the file's, parsed with the job's own settings. A
    /// prompt is the same when its id, input, settings and seed are.
    public static func compare(stored: [JobStore.Prompt], given: [PromptEntry], jobSeed: UInt64, shown: Int = 5) -> PromptListComparison {
        var differences: [String] = []
        for (index, (old, new)) in zip(stored, given).enumerated() {
            var what: [String] = []
            if old.id != new.id { what.append("id \(old.id) -> \(new.id)") }
            if old.input != new.input { what.append("\(describe(old.input)) -> \(describe(new.input))") }
            if old.settings != new.settings { what.append("settings \(describe(old.settings)) -> \(describe(new.settings))") }
            let seed = new.seed ?? PromptSeed.derive(jobSeed: jobSeed, index: index)
            if old.seed != seed { what.append("seed \(old.seed) -> \(seed)") }
            if !what.isEmpty { differences.append("line \(new.line) (prompt \(old.id)): " + what.joined(separator: "; ")) }
        }
        if given.count < stored.count {
            differences.append("the file has \(given.count) prompt(s), the job \(stored.count): prompts \(stored[given.count].id)... are not in it")
        }
        if !differences.isEmpty {
            let more = differences.count > shown ? ["... and \(differences.count - shown) more"] : []
            return .different(Array(differences.prefix(shown)) + more)
        }
        return given.count == stored.count ? .same : .grown(Array(given[stored.count...]))
    }

    static func describe(_ input: PromptInput) -> String {
        let value = input.value.count > 60 ? String(input.value.prefix(57)) + "..." : input.value
        return "\(input.kind) \"\(value)\""
    }

    static func describe(_ s: SamplingSettings) -> String {
        let steps = s.upsampleSteps.map { "\(s.steps) steps (upsampler \($0))" } ?? "\(s.steps) steps"
        return "\(s.model.rawValue), \(s.upsample ? "upsampled" : "no upsampler"), \(steps), guidance \(s.guidance), \(s.sampler.rawValue)"
    }
}
