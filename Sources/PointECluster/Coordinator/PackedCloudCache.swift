import Foundation

/// Clouds that arrived from workers and wait for a mesher, kept as the bytes they came in (the
/// wire's packed float32), so a mesh task forwards them instead of re-reading the .npz the
/// coordinator just wrote. Bounded: past `limit` the oldest are dropped, and a task for one of
/// those (or for any cloud of a resumed job) reads the stored file, which holds the same floats.
struct PackedCloudCache {
    struct Packed {
        var count: UInt32
        var coords: Data
        var colors: Data
    }

    let limit: Int
    private var entries: [String: (order: UInt64, cloud: Packed)] = [:]
    private var nextOrder: UInt64 = 0

    init(limit: Int = 256) { self.limit = max(0, limit) }

    var count: Int { entries.count }

    subscript(promptID: String) -> Packed? { entries[promptID]?.cloud }

    mutating func insert(_ cloud: Packed, for promptID: String) {
        guard limit > 0 else { return }
        entries[promptID] = (nextOrder, cloud)
        nextOrder += 1
        if entries.count > limit, let oldest = entries.min(by: { $0.value.order < $1.value.order })?.key {
            entries[oldest] = nil
        }
    }

    /// The prompt no longer waits for a mesh (meshed, failed, or sent back to sampling).
    mutating func remove(_ promptID: String) { entries[promptID] = nil }
}
