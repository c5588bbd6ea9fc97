import PointEParity
import PointETestSupport
import XCTest
@testable import PointEModels

/// CLIP's tokenizer against `clip.tokenize` on the fixture prompts (exact ids), and the pieces
/// that make it up.
final class CLIPTokenizerTests: XCTestCase {
    func testEveryFixtureCaseMatchesExactly() throws {
        let result = try CLIPParity.runTokenizer(fixture: Fixtures.path("tokenizer.io"))
        XCTAssertEqual(result.comparisons.filter { !$0.isDebug }.count, 25)
        for c in result.comparisons {
            XCTAssertEqual(c.maxAbsError, 0, c.name)
        }
        XCTAssertTrue(result.passed)
    }

    func testVocabularyLayout() throws {
        let vocabulary = try CLIPVocabulary.shared()
        XCTAssertEqual(vocabulary.size, 49408)
        XCTAssertEqual(vocabulary.startToken, 49406)
        XCTAssertEqual(vocabulary.endToken, 49407)
    }

    func testTruncationKeepsTheEndToken() throws {
        let tokenizer = try CLIPTokenizer.bundled(contextLength: 8)
        let row = tokenizer.tokenize([String(repeating: "dog ", count: 20)])[0]
        XCTAssertEqual(row.count, 8)
        XCTAssertEqual(row.first, 49406)
        XCTAssertEqual(row.last, 49407)
        XCTAssertEqual(Set(row.dropFirst().dropLast()).count, 1)
    }

    func testCleaning() {
        XCTAssertEqual(CLIPTextCleaner.clean("  Caf\u{00C3}\u{00A9}\u{00A0}&amp;amp;\tT\u{FB01}ne \u{FF21}\u{2019}s  "), "café & tfine a's")
        XCTAssertEqual(CLIPTextCleaner.clean("e\u{0301}"), "é")  // NFC
        XCTAssertEqual(CLIPTextCleaner.clean("&#233;&#x41;&lt"), "éa<")
    }

    /// ftfy's quote uncurling: a typographic apostrophe tokenizes like the ASCII one.
    func testCurlyApostropheTokenizesAsASCII() throws {
        let tokenizer = try CLIPTokenizer.bundled()
        XCTAssertEqual(tokenizer.encode("don\u{2019}t \u{201C}stop\u{201D}"), tokenizer.encode("don't \"stop\""))
    }

    func testPreTokenization() {
        let pieces = CLIPTextCleaner.preTokenize("don't 3.14 a🐶b <|endoftext|>").map { String($0) }
        XCTAssertEqual(pieces, ["don", "'t", "3", ".", "1", "4", "a", "🐶", "b", "<|endoftext|>"])
    }
}
