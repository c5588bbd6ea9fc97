import CJPEG
import CPNG
import Foundation

/// Image files (JPEG via libjpeg-turbo, PNG via libpng) decoded to RGB, recognised by their
/// leading bytes rather than the file name.
public enum ImageDecoder {
    public static func load(path: String) throws -> RGBImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError("\(path): cannot read the image file")
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> RGBImage {
        if data.starts(with: jpegSignature) { return try decodeJPEG(data, source: source) }
        if data.starts(with: pngSignature) { return try decodePNG(data, source: source) }
        throw ImageError("\(source): not a JPEG or PNG file (\(firstBytes(data)))")
    }

    /// The size of a PNG, after checking that it decodes in full as `decode` would (libpng reads
    /// every row: zlib stream, filters, chunk CRCs, up to IEND) without building its image: for
    /// files that are only checked and stored, such as a worker's preview, where copying every
    /// pixel into an `RGBImage` was most of the check's cost.
    public static func validatePNG(_ data: Data, source: String) throws -> (width: Int, height: Int) {
        guard data.starts(with: pngSignature) else {
            throw ImageError("\(source): not a PNG file (\(firstBytes(data)))")
        }
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            pointe_png_validate(raw.bindMemory(to: UInt8.self).baseAddress, raw.count,
                                &width, &height, &channels, &message, message.count)
        }
        guard status == 0 else { throw ImageError("\(source): invalid PNG: \(cText(message))") }
        return (Int(width), Int(height))
    }

    static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// "first bytes 47 49 46 ...": what a file that is not an image we read starts with.
    static func firstBytes(_ data: Data) -> String {
        "first bytes " + data.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
    }

    static func decodeJPEG(_ data: Data, source: String) throws -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0, cmyk: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            pointe_jpeg_decode(raw.bindMemory(to: UInt8.self).baseAddress, UInt(raw.count), &pixels,
                               &width, &height, &channels, &cmyk, &message, message.count)
        }
        guard status == 0, let pixels else {
            throw ImageError("\(source): invalid JPEG: \(cText(message))")
        }
        defer { free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        return RGBImage(width: Int(width), height: Int(height), samples: UnsafeBufferPointer(start: pixels, count: count),
                        channels: Int(channels), invertedCMYK: cmyk != 0)
    }

    static func decodePNG(_ data: Data, source: String) throws -> RGBImage {
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            pointe_png_decode(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &pixels,
                              &width, &height, &channels, &message, message.count)
        }
        guard status == 0, let pixels else {
            throw ImageError("\(source): invalid PNG: \(cText(message))")
        }
        defer { free(pixels) }
        let count = Int(width) * Int(height) * Int(channels)
        return RGBImage(width: Int(width), height: Int(height), samples: UnsafeBufferPointer(start: pixels, count: count),
                        channels: Int(channels))
    }

    /// A NUL-terminated C message buffer as a String.
    static func cText(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
