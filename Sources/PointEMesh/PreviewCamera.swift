import Foundation

/// A perspective camera circling the origin of a z-up scene, for previews.
struct PreviewCamera {
    let position: SIMD3<Double>
    let forward: SIMD3<Double>
    let right: SIMD3<Double>
    let up: SIMD3<Double>
    /// Scale from scene units at unit depth to half a tile; set so a unit sphere around the
    /// origin (previews normalise the object to it) fills a tile from any direction.
    let focal: Double
    let tileSize: Int

    /// Looking at the origin from `azimuth` (radians, about +z) and `elevation` above the xy plane.
    init(azimuth: Double, elevation: Double, distance: Double = 3, tileSize: Int) {
        position = SIMD3(cos(elevation) * cos(azimuth), cos(elevation) * sin(azimuth), sin(elevation)) * distance
        forward = -position / distance
        let r = SIMD3(forward.y, -forward.x, 0)  // forward x (0,0,1)
        right = r / (r * r).sum().squareRoot()
        up = SIMD3(right.y * forward.z - right.z * forward.y,
                   right.z * forward.x - right.x * forward.z,
                   right.x * forward.y - right.y * forward.x)
        focal = (distance * distance - 1).squareRoot() / 1.08
        self.tileSize = tileSize
    }

    /// Pixel coordinates and depth of a scene point (depth <= 0: behind the camera).
    func project(_ p: SIMD3<Double>) -> (x: Double, y: Double, depth: Double) {
        let v = p - position
        let depth = (v * forward).sum()
        let half = Double(tileSize) / 2
        let x = (v * right).sum() / depth * focal
        let y = (v * up).sum() / depth * focal
        return (half + x * half, half - y * half, depth)
    }

    /// Unit vector from the scene towards the camera (for shading).
    var towardsViewer: SIMD3<Double> { -forward }
}

/// The turning grid both previews share: `grid * grid` views, the camera stepping around the
/// vertical axis (turning it by -theta shows the object turned by theta, as the reference's
/// plotting grid does), each view drawn into its tile of one image.
func renderPreviewGrid(tileSize: Int, grid: Int, elevation: Double, view: (PreviewCamera) -> PreviewImage) -> PreviewImage {
    var image = PreviewImage(width: tileSize * grid, height: tileSize * grid)
    let views = grid * grid
    for index in 0..<views {
        let camera = PreviewCamera(azimuth: -0.9 - 2 * Double.pi * Double(index) / Double(views),
                                   elevation: elevation, tileSize: tileSize)
        image.paste(view(camera), x: (index % grid) * tileSize, y: (index / grid) * tileSize)
    }
    return image
}
