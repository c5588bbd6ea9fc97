import Foundation

/// `html.unescape` for prompts: numeric character references (decimal and hex, with Python's
/// replacements for invalid code points) and the named entities prompts meet in practice (the
/// HTML 4 set: markup, Latin-1, typographic punctuation, arrows, Greek letters). Names that
/// HTML allows without a semicolon (the Latin-1 ones, amp/lt/gt/quot) are accepted without it.
enum HTMLEntities {
    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if s[i] == "&", let (replacement, length) = reference(s, at: i) {
                out.append(contentsOf: replacement.unicodeScalars)
                i += length
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return String(out)
    }

    /// The replacement and matched length of a character reference starting at `s[start]` ("&").
    static func reference(_ s: [Unicode.Scalar], at start: Int) -> (String, Int)? {
        var j = start + 1
        guard j < s.count else { return nil }
        if s[j] == "#" {
            j += 1
            var hex = false
            if j < s.count && (s[j] == "x" || s[j] == "X") { hex = true; j += 1 }
            let digitsStart = j
            while j < s.count, let _ = Int(String(s[j]), radix: hex ? 16 : 10) { j += 1 }
            guard j > digitsStart else { return nil }
            let digits = String(String.UnicodeScalarView(s[digitsStart..<j]))
            if j < s.count && s[j] == ";" { j += 1 }
            return (numeric(digits, radix: hex ? 16 : 10), j - start)
        }
        // A name: up to 32 characters that are not whitespace, <, &, # or ;.
        while j < s.count, j - start <= 32, !" \t\n\u{0C}<&#;".unicodeScalars.contains(s[j]) { j += 1 }
        let name = String(String.UnicodeScalarView(s[(start + 1)..<j]))
        if j < s.count && s[j] == ";", let value = named[name] { return (value, j + 1 - start) }
        // Without a semicolon only the legacy names, longest prefix first.
        var length = name.count
        while length > 0 {
            let prefix = String(name.prefix(length))
            if legacy.contains(prefix), let value = named[prefix] { return (value, 1 + length) }
            length -= 1
        }
        return nil
    }

    static func numeric(_ digits: String, radix: Int) -> String {
        guard let code = UInt32(digits, radix: radix), code <= 0x10FFFF else { return "\u{FFFD}" }
        if (0x80...0x9F).contains(code), let c1 = Unicode.Scalar(CLIPTextCleaner.cp1252High[Int(code - 0x80)]),
           code != 0x81, code != 0x8D, code != 0x8F, code != 0x90, code != 0x9D {
            return String(c1)
        }
        if code == 0 || code == 0x0D || (0xD800...0xDFFF).contains(code) { return code == 0x0D ? "\r" : "\u{FFFD}" }
        // Python drops the other invalid code points (controls, non-characters).
        if (0x01...0x08).contains(code) || code == 0x0B || (0x0E...0x1F).contains(code) || (0x7F...0x9F).contains(code)
            || (0xFDD0...0xFDEF).contains(code) || (code & 0xFFFE) == 0xFFFE {
            return ""
        }
        return Unicode.Scalar(code).map { String($0) } ?? "\u{FFFD}"
    }

    static let latin1Names = """
    nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 \
    acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute Acirc Atilde \
    Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute \
    Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde \
    auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute \
    ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml
    """.split(separator: " ").map(String.init)

    static let otherNames: [String: UInt32] = [
        "quot": 0x22, "amp": 0x26, "apos": 0x27, "lt": 0x3C, "gt": 0x3E, "QUOT": 0x22, "AMP": 0x26, "LT": 0x3C, "GT": 0x3E,
        "COPY": 0xA9, "REG": 0xAE, "OElig": 0x152, "oelig": 0x153, "Scaron": 0x160, "scaron": 0x161, "Yuml": 0x178,
        "fnof": 0x192, "circ": 0x2C6, "tilde": 0x2DC, "ensp": 0x2002, "emsp": 0x2003, "thinsp": 0x2009, "zwnj": 0x200C,
        "zwj": 0x200D, "lrm": 0x200E, "rlm": 0x200F, "ndash": 0x2013, "mdash": 0x2014, "lsquo": 0x2018, "rsquo": 0x2019,
        "sbquo": 0x201A, "ldquo": 0x201C, "rdquo": 0x201D, "bdquo": 0x201E, "dagger": 0x2020, "Dagger": 0x2021,
        "bull": 0x2022, "hellip": 0x2026, "permil": 0x2030, "prime": 0x2032, "Prime": 0x2033, "lsaquo": 0x2039,
        "rsaquo": 0x203A, "oline": 0x203E, "frasl": 0x2044, "euro": 0x20AC, "trade": 0x2122, "larr": 0x2190,
        "uarr": 0x2191, "rarr": 0x2192, "darr": 0x2193, "harr": 0x2194, "lArr": 0x21D0, "rArr": 0x21D2,
        "hArr": 0x21D4, "forall": 0x2200, "part": 0x2202, "exist": 0x2203, "empty": 0x2205, "nabla": 0x2207,
        "isin": 0x2208, "notin": 0x2209, "prod": 0x220F, "sum": 0x2211, "minus": 0x2212, "radic": 0x221A,
        "prop": 0x221D, "infin": 0x221E, "ang": 0x2220, "and": 0x2227, "or": 0x2228, "cap": 0x2229, "cup": 0x222A,
        "int": 0x222B, "there4": 0x2234, "sim": 0x223C, "asymp": 0x2248, "ne": 0x2260, "equiv": 0x2261,
        "le": 0x2264, "ge": 0x2265, "sub": 0x2282, "sup": 0x2283, "deg": 0xB0, "loz": 0x25CA, "spades": 0x2660,
        "clubs": 0x2663, "hearts": 0x2665, "diams": 0x2666, "star": 0x2606, "starf": 0x2605, "check": 0x2713,
        "Alpha": 0x391, "Beta": 0x392, "Gamma": 0x393, "Delta": 0x394, "Epsilon": 0x395, "Zeta": 0x396, "Eta": 0x397,
        "Theta": 0x398, "Iota": 0x399, "Kappa": 0x39A, "Lambda": 0x39B, "Mu": 0x39C, "Nu": 0x39D, "Xi": 0x39E,
        "Omicron": 0x39F, "Pi": 0x3A0, "Rho": 0x3A1, "Sigma": 0x3A3, "Tau": 0x3A4, "Upsilon": 0x3A5, "Phi": 0x3A6,
        "Chi": 0x3A7, "Psi": 0x3A8, "Omega": 0x3A9, "alpha": 0x3B1, "beta": 0x3B2, "gamma": 0x3B3, "delta": 0x3B4,
        "epsilon": 0x3B5, "zeta": 0x3B6, "eta": 0x3B7, "theta": 0x3B8, "iota": 0x3B9, "kappa": 0x3BA, "lambda": 0x3BB,
        "mu": 0x3BC, "nu": 0x3BD, "xi": 0x3BE, "omicron": 0x3BF, "pi": 0x3C0, "rho": 0x3C1, "sigmaf": 0x3C2,
        "sigma": 0x3C3, "tau": 0x3C4, "upsilon": 0x3C5, "phi": 0x3C6, "chi": 0x3C7, "psi": 0x3C8, "omega": 0x3C9,
    ]

    static let named: [String: String] = {
        var table: [String: String] = [:]
        for (i, name) in latin1Names.enumerated() { table[name] = String(Unicode.Scalar(UInt32(0xA0 + i))!) }
        for (name, code) in otherNames { table[name] = String(Unicode.Scalar(code)!) }
        return table
    }()

    /// Names HTML5 recognises without the closing semicolon.
    static let legacy: Set<String> = Set(latin1Names + ["quot", "amp", "lt", "gt", "QUOT", "AMP", "LT", "GT", "COPY", "REG"])
}
