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

    static func encode(width: Int, height: Int, colorType: UInt8, rows: [UInt8]) -> Data {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in rows { a = (a + UInt32(x)) % 65521; b = (b + a) % 65521 }
        let n = UInt16(rows.count)
        let zlib: [UInt8] = [0x78, 0x01, 1, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8)] + rows + be32(b << 16 | a)
        let header = be32(UInt32(width)) + be32(UInt32(height)) + [8, colorType, 0, 0, 0]
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", []))
    }
}
