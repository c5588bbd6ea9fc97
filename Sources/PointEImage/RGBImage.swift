/// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) bytes for \(width)x\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Pillow's `convert("RGB")` of decoded samples: gray is replicated, alpha is dropped
    /// (not composited), CMYK as stored by Adobe JPEGs (inverted) is multiplied out.
    init(width: Int, height: Int, samples: UnsafeBufferPointer<UInt8>, channels: Int, invertedCMYK: Bool = false) {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let s = i * channels, d = i * 3
            switch channels {
            case 1, 2:
                rgb[d] = samples[s]; rgb[d + 1] = samples[s]; rgb[d + 2] = samples[s]
            case 4 where invertedCMYK:
                let k = Int(samples[s + 3])
                for c in 0..<3 { rgb[d + c] = Self.mulDiv255(Int(samples[s + c]), k) }
            default:
                rgb[d] = samples[s]; rgb[d + 1] = samples[s + 1]; rgb[d + 2] = samples[s + 2]
            }
        }
        self.init(width: width, height: height, pixels: rgb)
    }

    /// a * b / 255 rounded, in integers.
    static func mulDiv255(_ a: Int, _ b: Int) -> UInt8 {
        let t = a * b + 128
        return UInt8((t + (t >> 8)) >> 8)
    }
}

public struct ImageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
