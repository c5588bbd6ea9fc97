import Foundation
import PointECloud

/// Software renderer for point cloud previews: no GPU, no window. Like the reference's plotting
/// grid it shows the cloud turned through `grid * grid` angles about the vertical (z) axis, each
/// view a tile of one image; points are drawn far to near as discs whose radius shrinks with
/// distance, in the cloud's colours (grey when it has none). Unlike the reference's fixed plot
/// bounds, each object is framed to fill its tiles (thumbnails of small objects stay readable).
public struct PointCloudPreview: Sendable {
    public var tileSize: Int
    public var grid: Int
    public var elevation: Double

    public init(tileSize: Int = 256, grid: Int = 3, elevation: Double = 0.35) {
        self.tileSize = tileSize
        self.grid = grid
        self.elevation = elevation
    }

    /// The picture a job keeps of each cloud (previews/ID.png): nine 128-pixel views. Workers
    /// render it and the coordinator checks what they send against its size, so both take it
    /// from here.
    public static let job = PointCloudPreview(tileSize: 128)

    /// Width and height of the whole picture, in pixels.
    public var imageSize: Int { tileSize * grid }

    /// The picture as PNG bytes.
    public func png(_ cloud: PointCloud) throws -> Data {
        try render(cloud).pngData()
    }

    public func render(_ cloud: PointCloud) throws -> PreviewImage {
        guard cloud.count > 0 else { throw MeshError("<preview>", "the point cloud has no points") }
        guard cloud.coords.allSatisfy(\.isFinite) else {
            throw MeshError("<preview>", "the point cloud has non-finite coordinates")
        }
        return renderPreviewGrid(tileSize: tileSize, grid: grid, elevation: elevation) { renderView(cloud, camera: $0) }
    }

    func renderView(_ cloud: PointCloud, camera: PreviewCamera) -> PreviewImage {
        var tile = PreviewImage(width: tileSize, height: tileSize)
        let red = cloud.channel("R"), green = cloud.channel("G"), blue = cloud.channel("B")
        let (center, radius) = Self.boundingSphere(cloud.coords)
        var projected: [(x: Double, y: Double, depth: Double, index: Int)] = []
        projected.reserveCapacity(cloud.count)
        for i in 0..<cloud.count {
            let p = SIMD3(Double(cloud.coords[i * 3]), Double(cloud.coords[i * 3 + 1]), Double(cloud.coords[i * 3 + 2]))
            let s = camera.project((p - center) / radius)
            if s.depth > 1e-3 { projected.append((s.x, s.y, s.depth, i)) }
        }
        projected.sort { $0.depth > $1.depth }  // painter's order: far first
        // Dot size from the density: n dots of this radius about cover an object filling the tile.
        let baseRadius = max(0.7, Double(tileSize) * 0.6 / Double(cloud.count).squareRoot())
        let nearest = projected.last?.depth ?? 1, farthest = projected.first?.depth ?? 1
        for point in projected {
            let radius = baseRadius * 3 / point.depth
            let nearness = farthest > nearest ? (farthest - point.depth) / (farthest - nearest) : 1
            let shade = 0.72 + 0.28 * nearness
            let color = (
                UInt8(min(255, max(0, Double(red?[point.index] ?? 0.55) * 255 * shade))),
                UInt8(min(255, max(0, Double(green?[point.index] ?? 0.55) * 255 * shade))),
                UInt8(min(255, max(0, Double(blue?[point.index] ?? 0.55) * 255 * shade))))
            fillDisc(&tile, x: point.x, y: point.y, radius: radius, color: color)
        }
        return tile
    }

    /// Centre of the bounding box and the largest distance from it (at least a tiny epsilon).
    static func boundingSphere(_ coords: [Float]) -> (SIMD3<Double>, Double) {
        var low = SIMD3<Double>(repeating: .infinity), high = SIMD3<Double>(repeating: -.infinity)
        for i in stride(from: 0, to: coords.count, by: 3) {
            let p = SIMD3(Double(coords[i]), Double(coords[i + 1]), Double(coords[i + 2]))
            low = pointwiseMin(low, p)
            high = pointwiseMax(high, p)
        }
        let center = (low + high) / 2
        var radius = 1e-9
        for i in stride(from: 0, to: coords.count, by: 3) {
            let d = SIMD3(Double(coords[i]), Double(coords[i + 1]), Double(coords[i + 2])) - center
            radius = max(radius, (d * d).sum().squareRoot())
        }
        return (center, radius)
    }

    func fillDisc(_ image: inout PreviewImage, x: Double, y: Double, radius: Double, color: (UInt8, UInt8, UInt8)) {
        let r2 = radius * radius
        let x0 = max(0, Int((x - radius).rounded(.down))), x1 = min(image.width - 1, Int((x + radius).rounded(.up)))
        let y0 = max(0, Int((y - radius).rounded(.down))), y1 = min(image.height - 1, Int((y + radius).rounded(.up)))
        guard x0 <= x1, y0 <= y1 else { return }
        for py in y0...y1 {
            for px in x0...x1 {
                let dx = Double(px) + 0.5 - x, dy = Double(py) + 0.5 - y
                if dx * dx + dy * dy <= max(r2, 0.5) { image[px, py] = color }
            }
        }
    }
}
