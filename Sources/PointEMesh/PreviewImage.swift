import CZlib
import Foundation
import PointECheckpoint

/// An 8-bit RGB raster for previews, row-major from the top-left, and its PNG encoding.
/// (Decoded input images are PointEImage.RGBImage; this one only ever gets drawn and written.)
public struct PreviewImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[i * 3] = background.0
            pixels[i * 3 + 1] = background.1
            pixels[i * 3 + 2] = background.2
        }
    }

    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        get { let i = (y * width + x) * 3; return (pixels[i], pixels[i + 1], pixels[i + 2]) }
        set { let i = (y * width + x) * 3; pixels[i] = newValue.0; pixels[i + 1] = newValue.1; pixels[i + 2] = newValue.2 }
    }

    /// Copies `tile` with its top-left corner at (x, y).
    public mutating func paste(_ tile: PreviewImage, x: Int, y: Int) {
        for row in 0..<tile.height where y + row < height {
            let count = min(tile.width, width - x) * 3
            guard count > 0 else { continue }
            let src = row * tile.width * 3, dst = ((y + row) * width + x) * 3
            pixels.replaceSubrange(dst..<(dst + count), with: tile.pixels[src..<(src + count)])
        }
    }

    /// zlib's fastest level. A job's coordinator writes one preview per result, and at zlib's
    /// default level (6) compressing it was most of the coordinator's CPU per result (perf of
    /// `pointe bench coordinator`); previews are for skimming, a few percent larger is cheap.
    static let compressionLevel: Int32 = 1

    /// PNG bytes: 8-bit truecolour, no interlace, filter 0 on every row, zlib-compressed.
    public func pngData() throws -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(row * width * 3)..<((row + 1) * width * 3)])
        }
        var compressedLength = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedLength))
        let status = compress2(&compressed, &compressedLength, raw, uLong(raw.count), Self.compressionLevel)
        guard status == Z_OK else { throw MeshError("<png>", "encoding failed (zlib status \(status))") }

        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, 2, 0, 0, 0])  // depth 8, colour type RGB, deflate, filter 0, no interlace
        png.appendChunk("IHDR", header)
        png.appendChunk("IDAT", Data(compressed[0..<Int(compressedLength)]))
        png.appendChunk("IEND", Data())
        return png
    }

    public func writePNG(to path: String) throws {
        try AtomicFile.write(try pngData(), to: path)
    }
}

extension Data {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }

    /// A PNG chunk: length, type, data, CRC-32 of type + data.
    mutating func appendChunk(_ type: String, _ data: Data) {
        appendBigEndian(UInt32(data.count))
        var typed = Data(type.utf8)
        typed.append(data)
        append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
        appendBigEndian(UInt32(crc))
    }
}
