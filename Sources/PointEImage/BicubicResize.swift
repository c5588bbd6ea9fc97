import Foundation

/// Pillow's `Image.resize(size, BICUBIC)` for 8-bit images: a separable filter (Keys cubic,
/// a = -0.5) whose support widens with the downscale factor (antialiasing), coefficients in
/// 22-bit fixed point, horizontal pass first with an 8-bit intermediate, results clamped.
/// Matching its arithmetic exactly keeps CLIP's inputs identical to the reference's.
enum BicubicResize {
    static let precisionBits = 32 - 8 - 2

    static func cubic(_ t: Double) -> Double {
        let a = -0.5, x = abs(t)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Per output pixel: first input index and fixed-point weights.
    struct Coefficients {
        var first: [Int]
        var weights: [[Int]]
    }

    static func coefficients(input: Int, output: Int) -> Coefficients {
        let scale = Double(input) / Double(output)
        let filterScale = max(scale, 1)
        let support = 2 * filterScale
        var first: [Int] = [], weights: [[Int]] = []
        for xx in 0..<output {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(Int(center - support + 0.5), 0)
            let xmax = min(Int(center + support + 0.5), input) - xmin
            var k = (0..<max(xmax, 0)).map { cubic((Double($0 + xmin) - center + 0.5) / filterScale) }
            let total = k.reduce(0, +)
            if total != 0 { k = k.map { $0 / total } }
            let one = Double(1 << precisionBits)
            first.append(xmin)
            weights.append(k.map { $0 < 0 ? Int(-0.5 + $0 * one) : Int(0.5 + $0 * one) })
        }
        return Coefficients(first: first, weights: weights)
    }

    @inline(__always) static func clip8(_ sum: Int) -> UInt8 {
        let v = sum >> precisionBits
        return UInt8(min(max(v, 0), 255))
    }

    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var current = image
        if width != image.width {
            let c = coefficients(input: image.width, output: width)
            var out = [UInt8](repeating: 0, count: width * image.height * 3)
            current.pixels.withUnsafeBufferPointer { src in
                for y in 0..<image.height {
                    let row = y * image.width * 3
                    for x in 0..<width {
                        for ch in 0..<3 {
                            var sum = 1 << (precisionBits - 1)
                            for (i, w) in c.weights[x].enumerated() { sum += Int(src[row + (c.first[x] + i) * 3 + ch]) * w }
                            out[(y * width + x) * 3 + ch] = clip8(sum)
                        }
                    }
                }
            }
            current = RGBImage(width: width, height: image.height, pixels: out)
        }
        if height != image.height {
            let c = coefficients(input: image.height, output: height)
            let w3 = current.width * 3
            var out = [UInt8](repeating: 0, count: w3 * height)
            current.pixels.withUnsafeBufferPointer { src in
                for y in 0..<height {
                    for x in 0..<w3 {
                        var sum = 1 << (precisionBits - 1)
                        for (i, w) in c.weights[y].enumerated() { sum += Int(src[(c.first[y] + i) * w3 + x]) * w }
                        out[y * w3 + x] = clip8(sum)
                    }
                }
            }
            current = RGBImage(width: current.width, height: height, pixels: out)
        }
        return current
    }
}
