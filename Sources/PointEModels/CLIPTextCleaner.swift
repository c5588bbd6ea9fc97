import Foundation

/// The text cleaning in front of CLIP's tokenizer: `ftfy.fix_text` (the fixes that change real
/// prompts: mojibake, C1 controls, ligatures, full-width characters, curly quotes, control
/// characters, NFC), HTML unescaping twice, whitespace folding, lower case.
public enum CLIPTextCleaner {
    public static func clean(_ text: String) -> String {
        var t = fixText(text)
        t = HTMLEntities.unescape(HTMLEntities.unescape(t))
        return foldWhitespace(t).lowercased()
    }

    /// Runs of Unicode whitespace -> one space, trimmed at both ends.
    static func foldWhitespace(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in text.unicodeScalars {
            if s.properties.isWhitespace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(s)
            }
        }
        return String(out)
    }

    /// The subset of ftfy 6's `fix_text` defaults that matters for prompts, in its order.
    static func fixText(_ text: String) -> String {
        var t = text
        // ftfy unescapes HTML itself only when the text does not look like HTML markup.
        if !t.contains("<") { t = HTMLEntities.unescape(t) }
        t = fixMojibake(t)
        var out = String.UnicodeScalarView()
        for s in t.unicodeScalars {
            let v = s.value
            if let ligature = ligatures[v] {
                out.append(contentsOf: ligature.unicodeScalars)
            } else if (0xFF01...0xFF5E).contains(v) {
                out.append(Unicode.Scalar(v - 0xFF01 + 0x21)!)      // full-width ASCII
            } else if v == 0x3000 {
                out.append(" ")                                     // ideographic space
            } else if (0xFF61...0xFFDC).contains(v) {
                // Half-width katakana / hangul: their compatibility (full-width) forms.
                out.append(contentsOf: String(s).decomposedStringWithCompatibilityMapping.precomposedStringWithCanonicalMapping.unicodeScalars)
            } else if let plain = curlyQuotes[v] {
                out.append(plain)
            } else if v == 0x0D {
                out.append("\n")                                    // fix_line_breaks (\r\n folds later anyway)
            } else if isRemovedControl(v) {
                continue
            } else {
                out.append(s)
            }
        }
        return String(out).precomposedStringWithCanonicalMapping
    }

    static let ligatures: [UInt32: String] = [
        0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st",
        0x0132: "IJ", 0x0133: "ij", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz", 0x01C4: "DŽ", 0x01C5: "Dž",
        0x01C6: "dž", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj", 0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj",
    ]

    static let curlyQuotes: [UInt32: Unicode.Scalar] = [
        0x2018: "'", 0x2019: "'", 0x201A: "'", 0x201B: "'", 0x201C: "\"", 0x201D: "\"", 0x201E: "\"", 0x201F: "\"",
    ]

    /// ftfy's `remove_control_chars`: C0 controls other than tab/newline/form feed/CR, DEL,
    /// deprecated format characters, the BOM, interlinear annotation and musical format controls.
    static func isRemovedControl(_ v: UInt32) -> Bool {
        (0x00...0x08).contains(v) || v == 0x0B || (0x0E...0x1F).contains(v) || v == 0x7F
            || (0x206A...0x206F).contains(v) || v == 0xFEFF || (0xFFF9...0xFFFC).contains(v)
            || (0x1D173...0x1D17A).contains(v)
    }

    // MARK: mojibake

    /// Windows-1252 bytes 0x80...0x9F (ftfy's "sloppy" codec keeps the undefined ones as C1 controls).
    static let cp1252High: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]
    static let cp1252Byte: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        for b in 0..<256 where !(0x80...0x9F).contains(b) { table[UInt32(b)] = UInt8(b) }
        for (i, v) in cp1252High.enumerated() { table[v] = UInt8(0x80 + i) }
        return table
    }()

    /// UTF-8 that was decoded as Windows-1252 or Latin-1 ("cafÃ©" for "café"): every run of
    /// characters whose single-byte encoding is a well-formed multi-byte UTF-8 sequence is
    /// decoded back. Stray C1 controls are read as Windows-1252 (ftfy's `fix_c1_controls`).
    static func fixMojibake(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        guard scalars.contains(where: { $0.value >= 0x80 }) else { return text }
        var out = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            if let lead = cp1252Byte[scalars[i].value], lead >= 0xC2, lead <= 0xF4 {
                let length = lead >= 0xF0 ? 4 : (lead >= 0xE0 ? 3 : 2)
                if i + length <= scalars.count {
                    var bytes = [lead]
                    for k in 1..<length {
                        guard let b = cp1252Byte[scalars[i + k].value], (0x80...0xBF).contains(b) else { break }
                        bytes.append(b)
                    }
                    if bytes.count == length, let decoded = String(bytes: bytes, encoding: .utf8) {
                        out.append(contentsOf: decoded.unicodeScalars)
                        i += length
                        continue
                    }
                }
            }
            let v = scalars[i].value
            if (0x80...0x9F).contains(v), let mapped = Unicode.Scalar(cp1252High[Int(v - 0x80)]) {
                out.append(mapped)
            } else {
                out.append(scalars[i])
            }
            i += 1
        }
        let fixed = String(out)
        // Doubly encoded text needs another pass (ftfy repeats until nothing changes).
        return fixed == text ? text : fixMojibake(fixed)
    }
}
