import Foundation
import PointEEngine
@testable import PointEJob
import XCTest

final class PromptFileTests: XCTestCase {
    let defaults = PromptDefaults(model: .base40MUncond, upsample: false, steps: 2)

    func testPlainTextWithBadLinesReportsLineNumbers() throws {
        var data = Data("a red chair\n\n  \nlong\n".utf8)
        data.append(contentsOf: [0x61, 0xFF, 0xFE, 0x0A])  // line 5: invalid UTF-8
        data.append(Data((String(repeating: "x", count: 300) + "\r\na blue car\r\n").utf8))  // line 6 over-long, 7 CRLF
        let stop = PromptFile(maxLineBytes: 100, policy: .stop)
        XCTAssertThrowsError(try stop.parse(data, source: "p.txt", baseDirectory: "/", defaults: defaults)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("p.txt: 2 bad line(s)"), text)
            XCTAssertTrue(text.contains("line 5: not valid UTF-8"), text)
            XCTAssertTrue(text.contains("line 6: line is 300 bytes long (limit 100)"), text)
        }
        let skip = PromptFile(maxLineBytes: 100, policy: .skip)
        let (prompts, issues) = try skip.parse(data, source: "p.txt", baseDirectory: "/", defaults: defaults)
        XCTAssertEqual(prompts.map(\.input), [.text("a red chair"), .text("long"), .text("a blue car")])
        XCTAssertEqual(prompts.map(\.line), [1, 4, 7])
        XCTAssertEqual(prompts.map(\.id), ["p00000", "p00001", "p00002"])
        XCTAssertEqual(issues.map(\.line), [2, 3, 5, 6])
    }

    func testJSONLines() throws {
        let text = """
        {"prompt": "a cup", "id": "cup", "seed": 42, "steps": 3, "guidance": 1.5}
        {"image": "img/corgi.png", "model": "base40M"}
        {"embedding": "/abs/e.npy", "id": 1, "seed": 1, "upsample": true}
        {"prompt": "x", "colour": "red"}
        {"prompt": "dup", "id": "cup"}
        [1, 2]
        {"seed": 1}
        {"prompt": "b", "seed": true}
        """
        let (prompts, issues) = try PromptFile(policy: .skip).parse(Data(text.utf8), source: "p.jsonl", baseDirectory: "/data", defaults: defaults)
        XCTAssertEqual(prompts.count, 3)
        XCTAssertEqual(prompts[0].id, "cup")
        XCTAssertEqual(prompts[0].seed, 42)
        XCTAssertEqual(prompts[0].settings.steps, 3)
        XCTAssertEqual(prompts[0].settings.guidance, 1.5)
        XCTAssertEqual(prompts[0].settings.model, .base40MUncond)
        XCTAssertEqual(prompts[1].input, .image(path: "/data/img/corgi.png"))
        XCTAssertEqual(prompts[1].settings.model, .base40M)
        XCTAssertEqual(prompts[2].input, .embedding(path: "/abs/e.npy"))
        XCTAssertEqual(prompts[2].id, "1")
        XCTAssertEqual(prompts[2].seed, 1, "a JSON 1 is a number, not true")
        XCTAssertTrue(prompts[2].settings.upsample)
        let byLine = Dictionary(uniqueKeysWithValues: issues.map { ($0.line, $0.message) })
        XCTAssertTrue(byLine[4]?.contains("unknown key \"colour\"") == true, "\(issues)")
        XCTAssertTrue(byLine[5]?.contains("already used on line 1") == true, "\(issues)")
        XCTAssertTrue(byLine[6]?.contains("expected a JSON object") == true, "\(issues)")
        XCTAssertTrue(byLine[7]?.contains("needs one of") == true, "\(issues)")
        XCTAssertTrue(byLine[8]?.contains("\"seed\" must be a non-negative integer") == true, "\(issues)")
    }

    /// A seed may be a JSON number or a decimal string (as manifest.jsonl writes seeds, so a
    /// manifest line's seed can be given back); either way all 64 bits are kept.
    func testSeedsAsNumbersAndDecimalStrings() throws {
        let text = """
        {"prompt": "a", "seed": 5095610196844313601}
        {"prompt": "b", "seed": "5095610196844313601"}
        {"prompt": "c", "seed": "18446744073709551615"}
        {"prompt": "d", "seed": 18446744073709551615}
        {"prompt": "e", "seed": "18446744073709551616"}
        {"prompt": "f", "seed": "-1"}
        {"prompt": "g", "seed": "0x10"}
        {"prompt": "h", "seed": 1.5}
        """
        let (prompts, issues) = try PromptFile(policy: .skip).parse(Data(text.utf8), source: "p.jsonl", baseDirectory: "/", defaults: defaults)
        XCTAssertEqual(prompts.map(\.seed), [5_095_610_196_844_313_601, 5_095_610_196_844_313_601, .max, .max])
        XCTAssertEqual(issues.map(\.line), [5, 6, 7, 8])
        XCTAssertTrue(issues[0].message.contains("\"seed\" \"18446744073709551616\" is not a decimal integer of 0 to 2^64-1"), "\(issues)")
        XCTAssertTrue(issues[3].message.contains("\"seed\" must be a non-negative integer"), "\(issues)")
    }

    /// NUL would be cut off by the job store's C-string binding (`a red` would be sampled), and
    /// other controls are invisible: such lines are bad lines, under the usual policy.
    func testControlCharactersMakeBadLines() throws {
        var data = Data("a red\u{0}motorcycle\n".utf8)              // line 1: NUL inside
        data.append(Data("\u{1}\u{2}\n".utf8))                      // line 2: controls only
        data.append(Data("a\ttabbed chair\n".utf8))                  // line 3: tab is fine
        data.append(Data("escape \u{1B}[31m red\n".utf8))            // line 4: ESC
        data.append(Data("c1 \u{85} next line\n".utf8))              // line 5: C1 NEL
        data.append(Data("delete \u{7F}\n".utf8))                    // line 6: DEL
        data.append(Data("bare\rcarriage return\r\n".utf8))          // line 7: CR inside (final CR is CRLF)
        XCTAssertThrowsError(try PromptFile(policy: .stop).parse(data, source: "p.txt", baseDirectory: "/", defaults: defaults)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("p.txt: 6 bad line(s)"), text)
            XCTAssertTrue(text.contains("line 1: prompt contains control character U+0000 (NUL) at character 6"), text)
            XCTAssertTrue(text.contains("line 2: prompt contains control character U+0001"), text)
            XCTAssertTrue(text.contains("line 4: prompt contains control character U+001B"), text)
            XCTAssertTrue(text.contains("line 5: prompt contains control character U+0085"), text)
            XCTAssertTrue(text.contains("line 6: prompt contains control character U+007F"), text)
            XCTAssertTrue(text.contains("line 7: prompt contains control character U+000D"), text)
        }
        let (prompts, issues) = try PromptFile(policy: .skip).parse(data, source: "p.txt", baseDirectory: "/", defaults: defaults)
        XCTAssertEqual(prompts.map(\.input), [.text("a\ttabbed chair")])
        XCTAssertEqual(prompts.map(\.line), [3])
        XCTAssertEqual(issues.map(\.line), [1, 2, 4, 5, 6, 7])
    }

    func testControlCharactersInJSONLinesAreBadLines() throws {
        let text = #"""
        {"prompt": "a red\u0000motorcycle"}
        {"prompt": "\u0007"}
        {"image": "img/a\u0000.png"}
        {"prompt": "ok", "id": "a\u0000b"}
        {"prompt": "two\nlines"}
        {"prompt": "a\tb", "id": "fine"}
        """#
        let (prompts, issues) = try PromptFile(policy: .skip).parse(Data(text.utf8), source: "p.jsonl", baseDirectory: "/data", defaults: defaults)
        XCTAssertEqual(prompts.map(\.id), ["fine"])
        XCTAssertEqual(prompts.map(\.input), [.text("a\tb")])
        let byLine = Dictionary(uniqueKeysWithValues: issues.map { ($0.line, $0.message) })
        XCTAssertTrue(byLine[1]?.contains("prompt contains control character U+0000 (NUL)") == true, "\(issues)")
        XCTAssertTrue(byLine[2]?.contains("U+0007") == true, "\(issues)")
        XCTAssertTrue(byLine[3]?.contains("image path contains control character U+0000") == true, "\(issues)")
        XCTAssertTrue(byLine[4]?.contains("id \"a\u{0}b\" may only use letters") == true, "\(issues)")
        XCTAssertTrue(byLine[5]?.contains("U+000A") == true, "\(issues)")
        XCTAssertEqual(issues.count, 5, "\(issues)")
    }

    func testByteOrderMarkIsNotPromptText() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let plain = Data(bom + Array("a red chair\nblue car\n".utf8))
        XCTAssertEqual(try PromptFile().parse(plain, source: "p.txt", baseDirectory: "/", defaults: defaults).prompts.map(\.input),
                       [.text("a red chair"), .text("blue car")])
        // Without the BOM in the way, a `{` first line is still recognised as JSON Lines.
        let json = Data(bom + Array(#"{"prompt": "a cup", "id": "cup"}"#.utf8))
        let prompts = try PromptFile().parse(json, source: "p.txt", baseDirectory: "/", defaults: defaults).prompts
        XCTAssertEqual(prompts.map(\.id), ["cup"])
        XCTAssertEqual(prompts.map(\.input), [.text("a cup")])
    }

    /// Without a model named (on the line or the command line) the model follows the prompt's
    /// kind, as the reference's text2pc and image2pc do; a named one wins.
    func testTheDefaultModelFollowsThePromptKind() throws {
        let text = [#"{"prompt": "a chair"}"#, #"{"image": "corgi.jpg"}"#, #"{"image": "cube.jpg", "model": "base300M"}"#, "", ""].joined(separator: "\n")
        let prompts = try PromptFile().parse(Data(text.utf8), source: "p.jsonl", baseDirectory: "/data", defaults: PromptDefaults()).prompts
        XCTAssertEqual(prompts.map(\.settings.model), [.base40MTextvec, .base40M, .base300M])
        let plain = try PromptFile().parse(Data("a chair\n".utf8), source: "p.txt", baseDirectory: "/", defaults: PromptDefaults()).prompts
        XCTAssertEqual(plain.map(\.settings.model), [.base40MTextvec])
        let forced = try PromptFile().parse(Data(text.utf8), source: "p.jsonl", baseDirectory: "/data", defaults: PromptDefaults(model: .base40MUncond)).prompts
        XCTAssertEqual(forced.map(\.settings.model), [.base40MUncond, .base40MUncond, .base300M])
    }

    func testSeedsDependOnJobSeedAndIndexOnly() {
        let a = (0..<100).map { PromptSeed.derive(jobSeed: 0, index: $0) }
        XCTAssertEqual(Set(a).count, 100)
        XCTAssertEqual(a, (0..<100).map { PromptSeed.derive(jobSeed: 0, index: $0) })
        XCTAssertNotEqual(a[3], PromptSeed.derive(jobSeed: 1, index: 3))
    }
}
