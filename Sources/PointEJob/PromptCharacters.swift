import Foundation

/// Which characters a prompt-file value (prompt text, image/embedding path) may not hold. Ids
/// need no check here: PromptFile already limits them to letters, digits and - _ .
///
/// Refused: every C0 control (U+0000-U+001F) except tab, DEL (U+007F) and every C1 control
/// (U+0080-U+009F). NUL is the one that does harm silently: the job store binds text as a C
/// string (GRDB passes length -1 to sqlite3_bind_text), so `a red\0motorcycle` would be stored
/// and sampled as `a red`. The others are invisible, no prompt means them, and CR/LF/escape
/// sequences would break the one-line-per-prompt reports and terminal output. Tab stays
/// allowed: it is ordinary whitespace in hand-written files and CLIP's text cleaning folds it.
enum PromptCharacters {
    static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00...0x1F, 0x7F, 0x80...0x9F: true
        default: false
        }
    }

    /// Why `value` (described as `what`, e.g. "prompt" or "\"id\"") is refused, or nil when it
    /// is fine. Names the first offending character by code point and 1-based character
    /// position, since control characters do not show when the line is printed.
    static func problem(in value: String, what: String) -> String? {
        for (offset, scalar) in value.unicodeScalars.enumerated() where isRefused(scalar) {
            let name = scalar.value == 0 ? " (NUL)" : ""
            return "\(what) contains control character \(String(format: "U+%04X", scalar.value))\(name) at character \(offset + 1); only tab is allowed"
        }
        return nil
    }

    /// The UTF-8 byte order mark some editors put at the start of a file; it is not prompt text.
    static let utf8BOM: [UInt8] = [0xEF, 0xBB, 0xBF]
}
