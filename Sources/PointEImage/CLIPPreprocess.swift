import Foundation
import PointETensor

/// CLIP's image preprocessing (`clip.clip._transform(n)`): shorter side resized to n with
/// Pillow's antialiased bicubic, centre crop n x n, RGB, scaled to 0...1, normalised with
/// CLIP's channel means and standard deviations.
public enum CLIPPreprocess {
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// torchvision `Resize(n)` size: shorter side n, longer side int(n * long / short).
    static func resizedSize(width: Int, height: Int, to n: Int) -> (width: Int, height: Int) {
        if width <= height { return (n, Int(Double(n) * Double(height) / Double(width))) }
        return (Int(Double(n) * Double(width) / Double(height)), n)
    }

    /// Resize + centre crop: the uint8 image CLIP's tensor conversion sees.
    public static func resizedAndCropped(_ image: RGBImage, size n: Int = 224) throws -> RGBImage {
        guard image.width > 0, image.height > 0 else { throw ImageError("cannot preprocess an empty \(image.width)x\(image.height) image") }
        let (w, h) = resizedSize(width: image.width, height: image.height, to: n)
        let resized = BicubicResize.resize(image, width: w, height: h)
        // torchvision CenterCrop: offsets int(round((size - n) / 2)), Python rounding (half to even).
        let top = Int((Double(h - n) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(w - n) / 2).rounded(.toNearestOrEven))
        var out = [UInt8](repeating: 0, count: n * n * 3)
        for y in 0..<n {
            for x in 0..<n {
                for c in 0..<3 { out[(y * n + x) * 3 + c] = resized.pixels[((y + top) * w + x + left) * 3 + c] }
            }
        }
        return RGBImage(width: n, height: n, pixels: out)
    }

    /// The network input [3, n, n] of one image.
    public static func pixels(_ image: RGBImage, size n: Int = 224) throws -> Tensor {
        let cropped = try resizedAndCropped(image, size: n)
        let out = Tensor(zeros: [3, n, n])
        let p = out.pointer
        for c in 0..<3 {
            for i in 0..<(n * n) {
                let x = Float(cropped.pixels[i * 3 + c]) / 255
                p[c * n * n + i] = (x - mean[c]) / std[c]
            }
        }
        return out
    }

    /// A batch [N, 3, n, n] of image files (JPEG or PNG).
    public static func batch(files: [String], size n: Int = 224) throws -> Tensor {
        let images = try files.map { try pixels(ImageDecoder.load(path: $0), size: n) }
        let out = Tensor(zeros: [images.count, 3, n, n])
        for (i, t) in images.enumerated() {
            withExtendedLifetime(t) { (out.pointer + i * 3 * n * n).update(from: t.pointer, count: 3 * n * n) }
        }
        return out
    }
}
