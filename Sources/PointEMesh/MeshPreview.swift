import Foundation

/// Software renderer for mesh previews: the same turning grid of views as `PointCloudPreview`,
/// with triangles rasterised through a depth buffer, vertex colours interpolated across each
/// face and Lambert shading from a light over the viewer's shoulder (two-sided, so a mesh with
/// flipped faces still shows its shape).
public struct MeshPreview: Sendable {
    public var tileSize: Int
    public var grid: Int
    public var elevation: Double

    public init(tileSize: Int = 256, grid: Int = 3, elevation: Double = 0.35) {
        self.tileSize = tileSize
        self.grid = grid
        self.elevation = elevation
    }

    public func render(_ mesh: TriMesh) throws -> PreviewImage {
        guard mesh.faceCount > 0 else { throw MeshError("<preview>", "the mesh has no faces") }
        guard mesh.vertices.allSatisfy(\.isFinite) else { throw MeshError("<preview>", "the mesh has non-finite vertices") }
        guard mesh.faces.allSatisfy({ Int($0) < mesh.vertexCount }) else {
            throw MeshError("<preview>", "a face refers to a vertex past the \(mesh.vertexCount) the mesh has")
        }
        return renderPreviewGrid(tileSize: tileSize, grid: grid, elevation: elevation) { renderView(mesh, camera: $0) }
    }

    func renderView(_ mesh: TriMesh, camera: PreviewCamera) -> PreviewImage {
        var tile = PreviewImage(width: tileSize, height: tileSize)
        var depthBuffer = [Double](repeating: .infinity, count: tileSize * tileSize)
        let (center, radius) = PointCloudPreview.boundingSphere(mesh.vertices)
        let screen = (0..<mesh.vertexCount).map { i -> (x: Double, y: Double, depth: Double) in
            let p = SIMD3(Double(mesh.vertices[i * 3]), Double(mesh.vertices[i * 3 + 1]), Double(mesh.vertices[i * 3 + 2]))
            return camera.project((p - center) / radius)
        }
        let colors = mesh.colors
        // Light from above and to the left of the viewer.
        var light = camera.towardsViewer + camera.up * 0.6 - camera.right * 0.4
        light /= (light * light).sum().squareRoot()

        for f in 0..<mesh.faceCount {
            let ia = Int(mesh.faces[f * 3]), ib = Int(mesh.faces[f * 3 + 1]), ic = Int(mesh.faces[f * 3 + 2])
            let (a, b, c) = (screen[ia], screen[ib], screen[ic])
            guard a.depth > 1e-3, b.depth > 1e-3, c.depth > 1e-3 else { continue }
            let area = (b.x - a.x) * (c.y - a.y) - (c.x - a.x) * (b.y - a.y)
            guard abs(area) > 1e-12 else { continue }
            let normal = faceNormal(mesh, ia, ib, ic)
            let shade = 0.3 + 0.7 * abs((normal * light).sum())
            let x0 = max(0, Int(min(a.x, b.x, c.x).rounded(.down))), x1 = min(tileSize - 1, Int(max(a.x, b.x, c.x).rounded(.up)))
            let y0 = max(0, Int(min(a.y, b.y, c.y).rounded(.down))), y1 = min(tileSize - 1, Int(max(a.y, b.y, c.y).rounded(.up)))
            guard x0 <= x1, y0 <= y1 else { continue }
            for py in y0...y1 {
                for px in x0...x1 {
                    let x = Double(px) + 0.5, y = Double(py) + 0.5
                    let wa = ((b.x - x) * (c.y - y) - (c.x - x) * (b.y - y)) / area
                    let wb = ((c.x - x) * (a.y - y) - (a.x - x) * (c.y - y)) / area
                    let wc = 1 - wa - wb
                    guard wa >= 0, wb >= 0, wc >= 0 else { continue }
                    let depth = wa * a.depth + wb * b.depth + wc * c.depth
                    let slot = py * tileSize + px
                    guard depth < depthBuffer[slot] else { continue }
                    depthBuffer[slot] = depth
                    var rgb = SIMD3<Double>(repeating: 0.62)
                    if let colors {
                        rgb = SIMD3(Double(colors.r[ia]), Double(colors.g[ia]), Double(colors.b[ia])) * wa
                            + SIMD3(Double(colors.r[ib]), Double(colors.g[ib]), Double(colors.b[ib])) * wb
                            + SIMD3(Double(colors.r[ic]), Double(colors.g[ic]), Double(colors.b[ic])) * wc
                    }
                    let v = (rgb * shade * 255).clamped(lowerBound: .zero, upperBound: SIMD3(repeating: 255))
                    tile[px, py] = (UInt8(v.x), UInt8(v.y), UInt8(v.z))
                }
            }
        }
        return tile
    }

    /// Unit normal of a face from its corners (zero for a degenerate face).
    func faceNormal(_ mesh: TriMesh, _ a: Int, _ b: Int, _ c: Int) -> SIMD3<Double> {
        let pa = SIMD3<Double>(mesh.vertex(a)), pb = SIMD3<Double>(mesh.vertex(b)), pc = SIMD3<Double>(mesh.vertex(c))
        let u = pb - pa, v = pc - pa
        let n = SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
        let length = (n * n).sum().squareRoot()
        return length > 0 ? n / length : .zero
    }
}
