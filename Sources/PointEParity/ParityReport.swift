/// The line format every `pointe parity` report shares: a verdict line for the fixture, then
/// one indented line per comparison with its mark and its name padded to the harness's column.
enum ParityReport {
    static func verdict(_ fixture: String, passed: Bool, kind: String? = nil) -> String {
        "\(fixture): \(passed ? "PASS" : "FAIL")" + (kind.map { " (\($0))" } ?? "")
    }

    /// `ok  ` / `FAIL`, or `diff` for an intermediate (debug) tensor that is off.
    static func comparison(passed: Bool, isDebug: Bool = false, name: String, width: Int, detail: String) -> String {
        let mark = passed ? "ok  " : (isDebug ? "diff" : "FAIL")
        return "  \(mark) \(name.padding(toLength: max(width, name.count), withPad: " ", startingAt: 0))\(detail)"
    }
}
