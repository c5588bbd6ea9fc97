import Foundation

/// Lets a repeated message through once per interval per key; the next one that passes says
/// how many were held back.
package struct RateLimiter {
    let intervalMs: UInt64
    private var last: [String: (time: UInt64, suppressed: Int)] = [:]

    package init(intervalMs: UInt64) { self.intervalMs = intervalMs }

    package mutating func run(_ key: String, _ body: (String) -> Void) {
        let now = monotonicMilliseconds()
        if let entry = last[key], now - entry.time < intervalMs {
            last[key] = (entry.time, entry.suppressed + 1)
            return
        }
        let suppressed = last[key]?.suppressed ?? 0
        last[key] = (now, 0)
        body(suppressed > 0 ? " (\(suppressed) more like it in the last \(intervalMs / 1000) s)" : "")
    }
}
