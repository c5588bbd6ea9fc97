import Foundation
import PointEEngine
import PointETensor

/// A prompt's sampling settings as the store keeps them (JSON text in `prompts.settings`) and
/// back: the one place they are converted. A job's prompts nearly all share one settings text,
/// and the coordinator reads prompt rows with every claim and result, so decoded values are
/// remembered by their text (a pure function of it) instead of decoded per row.
enum StoredSamplingSettings {
    /// Distinct settings texts remembered at most (a job with more starts over: still correct).
    static let memoLimit = 1024
    private static let memo = Locked<[String: SamplingSettings]>([:])

    static func decode(_ json: String) -> SamplingSettings? {
        if let known = memo.withLock({ $0[json] }) { return known }
        guard let settings = try? JSONDecoder().decode(SamplingSettings.self, from: Data(json.utf8)) else { return nil }
        memo.withLock { table in
            if table.count >= memoLimit { table.removeAll(keepingCapacity: true) }
            table[json] = settings
        }
        return settings
    }
}
