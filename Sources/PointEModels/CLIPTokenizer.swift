import Foundation

/// CLIP's tokenizer (`clip.tokenize`): text cleaning, pre-tokenization, byte-level BPE, then
/// start/end tokens in a zero-padded context of 77 ids.
public struct CLIPTokenizer: Sendable {
    public let vocabulary: CLIPVocabulary
    public let contextLength: Int

    public init(vocabulary: CLIPVocabulary, contextLength: Int = 77) {
        self.vocabulary = vocabulary
        self.contextLength = contextLength
    }

    /// The tokenizer with the package's bundled vocabulary.
    public static func bundled(contextLength: Int = 77) throws -> CLIPTokenizer {
        CLIPTokenizer(vocabulary: try CLIPVocabulary.shared(), contextLength: contextLength)
    }

    /// BPE ids of a prompt, without start/end tokens (the reference's `SimpleTokenizer.encode`).
    public func encode(_ text: String) -> [Int32] {
        let cleaned = CLIPTextCleaner.clean(text)
        var ids: [Int32] = []
        for piece in CLIPTextCleaner.preTokenize(cleaned) { ids += vocabulary.bpe(piece) }
        return ids
    }

    /// `clip.tokenize(texts, truncate=True)`: one row of `contextLength` ids per text. A text too
    /// long for the context is cut, and its last id replaced by the end token.
    public func tokenize(_ texts: [String]) -> [[Int32]] {
        texts.map { text in
            var ids = [vocabulary.startToken] + encode(text) + [vocabulary.endToken]
            if ids.count > contextLength {
                ids = Array(ids.prefix(contextLength))
                ids[contextLength - 1] = vocabulary.endToken
            }
            return ids + [Int32](repeating: 0, count: contextLength - ids.count)
        }
    }
}

/// CLIP's pre-tokenization pattern, matched on Unicode scalars as the `regex` module does:
/// the special tokens, English contractions ('s 't 're 've 'm 'll 'd), runs of letters, single
/// digits, and runs of anything else that is not whitespace. Whitespace separates and is dropped.
extension CLIPTextCleaner {
    static let specials = ["<|startoftext|>", "<|endoftext|>"].map { Array($0.unicodeScalars) }
    static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    public static func preTokenize(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Substring(text).unicodeScalars
        var pieces: [Substring.UnicodeScalarView] = []
        var i = scalars.startIndex
        func matches(_ literal: [Unicode.Scalar], at start: Substring.UnicodeScalarView.Index) -> Substring.UnicodeScalarView.Index? {
            var j = start
            for expected in literal {
                guard j < scalars.endIndex,
                      String(scalars[j]).lowercased() == String(expected).lowercased() else { return nil }
                j = scalars.index(after: j)
            }
            return j
        }
        while i < scalars.endIndex {
            let c = scalars[i]
            var end: Substring.UnicodeScalarView.Index?
            for literal in specials + contractions {
                if let e = matches(literal, at: i) { end = e; break }
            }
            if end == nil {
                var j = i
                if isLetter(c) {
                    while j < scalars.endIndex && isLetter(scalars[j]) { j = scalars.index(after: j) }
                    end = j
                } else if isNumber(c) {
                    end = scalars.index(after: i)
                } else if !c.properties.isWhitespace {
                    while j < scalars.endIndex && !isLetter(scalars[j]) && !isNumber(scalars[j]) && !scalars[j].properties.isWhitespace {
                        j = scalars.index(after: j)
                    }
                    end = j
                }
            }
            if let end {
                pieces.append(scalars[i..<end])
                i = end
            } else {
                i = scalars.index(after: i)
            }
        }
        return pieces
    }
}
