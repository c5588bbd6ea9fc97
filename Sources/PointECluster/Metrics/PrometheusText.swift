import Foundation

/// Prometheus text exposition format (version 0.0.4): HELP and TYPE lines, then samples.
struct PrometheusText {
    private(set) var text = ""

    mutating func metric(_ name: String, _ type: String, _ help: String, _ samples: [([String: String], Double)]) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples {
            let labelText = labels.isEmpty ? "" : "{" + labels.sorted { $0.key < $1.key }
                .map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",") + "}"
            text += "\(name)\(labelText) \(Self.format(value))\n"
        }
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double, labels: [String: String] = [:]) {
        metric(name, "gauge", help, [(labels, value)])
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
