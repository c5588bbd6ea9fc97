import PointECloud
import PointEModels

/// Point cloud -> colored mesh: the reference's `marching_cubes_mesh` (SDF on a grid, mean
/// recentring of a volume without a sign change, marching cubes at level 0, nearest-point
/// vertex channels), with cached decoder keys/values and optional coarse-to-fine sampling.
public struct PointCloudMesher: Sendable {
    public var sampler: SDFGridSampler
    public var gridSize: Int
    public var sideLength: Double
    /// Nil: sample every grid point (the reference).
    public var coarseToFine: CoarseToFine?
    public var fillVertexChannels: Bool

    public init(model: CrossAttentionPointCloudSDFModel, gridSize: Int = 128, sideLength: Double = 1.02,
                batchSize: Int = 4096, keysValuesPerBatch: Bool = false, coarseToFine: CoarseToFine? = nil,
                fillVertexChannels: Bool = true) {
        sampler = SDFGridSampler(model: model, batchSize: batchSize, keysValuesPerBatch: keysValuesPerBatch)
        self.gridSize = gridSize
        self.sideLength = sideLength
        self.coarseToFine = coarseToFine
        self.fillVertexChannels = fillVertexChannels
    }

    /// Grid sizes a mesh may be made at. The reference uses 128; at 512 the SDF alone is 134 M
    /// network queries and half a gigabyte of values, and past it the volume's arrays outgrow
    /// ordinary machines (a grid of 100,000 asked for 12 EB and crashed the mesher).
    public static let gridSizes = 2...512

    /// Why `gridSize` cannot be used (nil: it can), for every entry point's message.
    public static func gridSizeProblem(_ gridSize: Int) -> String? {
        gridSizes.contains(gridSize) ? nil : "must be \(gridSizes.lowerBound) to \(gridSizes.upperBound), got \(gridSize)"
    }

    public struct Result: Sendable {
        public var mesh: TriMesh
        /// SDF network evaluations (grid points decoded).
        public var evaluations: Int
        /// The volume had no sign change and was shifted by its mean.
        public var recentered: Bool
        public var volume: VolumeGrid
    }

    /// `source` names the cloud in errors; `progress(done, total)` counts decoded points.
    public func mesh(_ cloud: PointCloud, source: String, progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        if let problem = Self.gridSizeProblem(gridSize) { throw MeshError(source, "grid size \(problem)") }
        let encoded = try sampler.encode(cloud, source: source)
        let layout = GridLayout(gridSize: gridSize, sideLength: sideLength)
        var evaluations = 0
        var volume: VolumeGrid?
        if let coarseToFine {
            let sampled = try coarseToFine.sample(layout: layout) { points in
                try sampler.evaluate(points, encoded: encoded, progress: progress)
            }
            volume = sampled.volume
            evaluations += sampled.evaluations
        }
        if volume == nil {
            let values = try sampler.evaluate(SDFGridSampler.gridPoints(layout), encoded: encoded, progress: progress)
            volume = VolumeGrid(cubeValues: values, gridSize: gridSize, sideLength: sideLength)
            evaluations += values.count
        }
        var grid = volume!
        let recentered = grid.recenterIfNoSignChange()
        var mesh = MarchingCubes.extract(grid)
        if fillVertexChannels { mesh = mesh.coloredByNearestPoint(of: cloud) }
        return Result(mesh: mesh, evaluations: evaluations, recentered: recentered, volume: grid)
    }
}
