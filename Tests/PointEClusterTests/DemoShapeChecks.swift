import Foundation
import PointECloud
import PointEMesh

/// The demo set's caption grammar (Sources/PointEDemoModels/DemoSet/grammar.json, the file the
/// training code reads too) and what a generated object must be to match its caption.
struct DemoGrammar: Decodable {
    struct Shape: Decodable { let name: String }
    struct Colour: Decodable { let name: String; let rgb: [Float] }
    struct Size: Decodable { let word: String; let scale: Float }
    let shapes: [Shape]
    let colours: [Colour]
    let sizes: [Size]

    static func load(_ path: String) throws -> DemoGrammar {
        try JSONDecoder().decode(DemoGrammar.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func caption(shape: String, colour: String, size: String = "") -> String {
        "a " + (size.isEmpty ? "" : size + " ") + colour + " " + shape
    }

    /// (shape, colour, size scale) of a caption of this grammar; nil for anything else.
    func parse(_ caption: String) -> (shape: String, colour: Colour, scale: Float)? {
        for shape in shapes { for colour in colours { for size in sizes where self.caption(shape: shape.name, colour: colour.name, size: size.word) == caption {
            return (shape.name, colour, size.scale)
        } } }
        return nil
    }
}

/// Symmetric Chamfer distance: the mean distance from each point of one cloud to the nearest of
/// the other, averaged over both directions (in the clouds' own units, not squared, so a bound
/// reads as a length).
func chamferDistance(_ a: [Float], _ b: [Float]) -> Float {
    func oneWay(_ from: [Float], _ to: [Float]) -> Float {
        let tree = KDTree(points: to)
        let nearest = tree.nearest(queries: from)
        var sum: Float = 0
        for (i, j) in nearest.enumerated() {
            let d = SIMD3(from[3 * i], from[3 * i + 1], from[3 * i + 2]) - SIMD3(to[3 * j], to[3 * j + 1], to[3 * j + 2])
            sum += (d * d).sum().squareRoot()
        }
        return sum / Float(nearest.count)
    }
    return (oneWay(a, b) + oneWay(b, a)) / 2
}

/// The mean colour of a cloud's R, G, B channels (0..1).
func meanColour(_ cloud: PointCloud) -> SIMD3<Float>? {
    guard let r = cloud.channel("R"), let g = cloud.channel("G"), let b = cloud.channel("B"), !r.isEmpty else { return nil }
    let n = Float(r.count)
    return SIMD3(r.reduce(0, +) / n, g.reduce(0, +) / n, b.reduce(0, +) / n)
}
