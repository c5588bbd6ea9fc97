import Foundation
import XCTest
@testable import PointEImage

final class DecoderTests: XCTestCase {
    func testJPEGColourAndGray() throws {
        let corgi = try ImageDecoder.load(path: Fixtures.path("corgi.jpg"))
        XCTAssertGreaterThan(corgi.width, 0)
        XCTAssertEqual(corgi.pixels.count, corgi.width * corgi.height * 3)
        let gray = try ImageDecoder.load(path: Fixtures.path("preprocess_tall_gray.jpg"))
        XCTAssertGreaterThan(gray.height, gray.width)
        for i in stride(from: 0, to: gray.pixels.count, by: 3) {
            XCTAssertTrue(gray.pixels[i] == gray.pixels[i + 1] && gray.pixels[i] == gray.pixels[i + 2])
        }
    }

    /// A PNG written by hand (stored zlib blocks): RGBA 2x1 with alpha dropped, as Pillow's convert("RGB").
    func testPNGWithAlpha() throws {
        let rows: [UInt8] = [0, 10, 20, 30, 0, 200, 100, 50, 255]  // filter byte + two RGBA pixels
        let png = PNGWriter.encode(width: 2, height: 1, colorType: 6, rows: rows)
        let image = try ImageDecoder.decode(png, source: "memory.png")
        XCTAssertEqual(image.width, 2)
        XCTAssertEqual(image.pixels, [10, 20, 30, 200, 100, 50])
    }

    func testCorruptFilesNameTheFile() {
        XCTAssertThrowsError(try ImageDecoder.decode(Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 1]), source: "broken.jpg")) { error in
            XCTAssertTrue("\(error)".contains("broken.jpg"), "\(error)")
        }
        XCTAssertThrowsError(try ImageDecoder.decode(Data("GIF89a".utf8), source: "x.gif")) { error in
            XCTAssertTrue("\(error)".contains("x.gif") && "\(error)".contains("not a JPEG or PNG"), "\(error)")
        }
        var png = PNGWriter.encode(width: 2, height: 1, colorType: 6, rows: [0, 1, 2, 3, 4, 5, 6, 7, 8])
        png = png.prefix(png.count - 20)
        XCTAssertThrowsError(try ImageDecoder.decode(png, source: "cut.png")) { error in
            XCTAssertTrue("\(error)".contains("cut.png"), "\(error)")
        }
    }

    /// `validatePNG` reads the rows a decode reads and keeps none: it gives the decoded size and
    /// refuses what `decode` refuses, including damage that only reading the rows can find.
    func testValidatePNGChecksEveryRow() throws {
        // 3x2 RGB, each row filtered differently (none, sub) so the row decoding is exercised.
        let rows: [UInt8] = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90,
                             1, 5, 6, 7, 1, 1, 1, 2, 2, 2]
        let png = PNGWriter.encode(width: 3, height: 2, colorType: 2, rows: rows)
        let size = try ImageDecoder.validatePNG(png, source: "ok.png")
        XCTAssertEqual(size.width, 3)
        XCTAssertEqual(size.height, 2)

        // Sound chunks (CRCs and the zlib checksum hold) around bad rows: seen only by reading them.
        let badFilter = PNGWriter.encode(width: 3, height: 2, colorType: 2, rows: [7] + rows.dropFirst())
        XCTAssertThrowsError(try ImageDecoder.validatePNG(badFilter, source: "filter.png")) { error in
            XCTAssertTrue("\(error)".contains("filter.png: invalid PNG"), "\(error)")
        }
        let missingRow = PNGWriter.encode(width: 3, height: 3, colorType: 2, rows: rows)
        XCTAssertThrowsError(try ImageDecoder.validatePNG(missingRow, source: "short.png")) { error in
            XCTAssertTrue("\(error)".contains("short.png: invalid PNG"), "\(error)")
        }
        XCTAssertThrowsError(try ImageDecoder.validatePNG(Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 1]), source: "x.jpg")) { error in
            XCTAssertTrue("\(error)".contains("x.jpg: not a PNG file"), "\(error)")
        }

        // Every truncation and every flipped byte: refused by one exactly when refused by the other.
        var damaged: [(String, Data)] = (0..<png.count).map { ("first \($0) bytes", png.prefix($0)) }
        for i in 0..<png.count {
            var flipped = png
            flipped[i] ^= 0xFF
            damaged.append(("byte \(i) flipped", flipped))
        }
        var refused = 0
        for (what, data) in damaged {
            let decoded = (try? ImageDecoder.decode(data, source: what)) != nil
            let validated = (try? ImageDecoder.validatePNG(data, source: what)) != nil
            XCTAssertEqual(validated, decoded, "\(what): validatePNG \(validated ? "accepts" : "refuses"), decode does not")
            if !validated { refused += 1 }
        }
        XCTAssertGreaterThan(refused, png.count, "too few damaged files refused to mean anything")
    }

    /// Adam7: the rows of all seven passes land in the one row buffer in turn when validating.
    func testInterlacedPNG() throws {
        // 2x2 gray: pass 1 is pixel (0,0), pass 6 pixel (1,0), pass 7 the second row.
        let passes: [UInt8] = [0, 11, 0, 22, 0, 33, 44]
        let png = PNGWriter.encode(width: 2, height: 2, colorType: 0, rows: passes, interlaced: true)
        let image = try ImageDecoder.decode(png, source: "adam7.png")
        XCTAssertEqual(image.pixels, [11, 11, 11, 22, 22, 22, 33, 33, 33, 44, 44, 44])
        let size = try ImageDecoder.validatePNG(png, source: "adam7.png")
        XCTAssertEqual(size.width, 2)
        XCTAssertEqual(size.height, 2)
        let noPass7 = PNGWriter.encode(width: 2, height: 2, colorType: 0, rows: Array(passes.prefix(4)), interlaced: true)
        XCTAssertThrowsError(try ImageDecoder.validatePNG(noPass7, source: "adam7-short.png"))
        XCTAssertThrowsError(try ImageDecoder.decode(noPass7, source: "adam7-short.png"))
    }
}

/// Minimal PNG encoder for tests: one IDAT of stored (uncompressed) deflate blocks.
enum PNGWriter {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + body
        return be32(UInt32(body.count)) + typed + be32(crc32(typed))
    }

    /// `rows` as stored: each row its filter byte and samples, Adam7's passes one after another
    /// when `interlaced`.
    static func encode(width: Int, height: Int, colorType: UInt8, rows: [UInt8], interlaced: Bool = false) -> Data {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in rows { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        let n = UInt16(rows.count)
        let zlib: [UInt8] = [0x78, 0x01, 1, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8)] + rows + be32(b << 16 | a)
        let header = be32(UInt32(width)) + be32(UInt32(height)) + [8, colorType, 0, 0, interlaced ? 1 : 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", []))
    }
}
