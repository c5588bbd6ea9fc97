import Foundation
import PointEEngine
@testable import PointECluster
import XCTest

final class PromptFileTests: XCTestCase {
    let defaults = SamplingSettings(model: .base40MUncond, upsample: false, steps: 2)

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

    func testSeedsDependOnJobSeedAndIndexOnly() {
        let a = (0..<100).map { PromptSeed.derive(jobSeed: 0, index: $0) }
        XCTAssertEqual(Set(a).count, 100)
        XCTAssertEqual(a, (0..<100).map { PromptSeed.derive(jobSeed: 0, index: $0) })
        XCTAssertNotEqual(a[3], PromptSeed.derive(jobSeed: 1, index: 3))
    }
}
