import Foundation
import PointECloud
import PointEMesh
import PointEModels

/// Point cloud -> mesh files, as a mesher node and `pointe mesh` do it: the SDF network from
/// the models directory (loaded once), `PointCloudMesher` (grid, marching cubes, nearest-point
/// colours), each requested format encoded in memory.
public final class CloudMeshingEngine: @unchecked Sendable {
    /// Reported to the coordinator in a mesher's hello. 3: GLB and OBJ written +Y up, GLB
    /// colours linear with a material, and USD (docs/FORMATS.md).
    public static let version = "pointe-mesher/3"
    public let models: ModelDirectory

    public init(models: ModelDirectory) { self.models = models }

    /// Meshing settings (the reference's marching_cubes_mesh defaults: grid 128, side 1.02).
    public struct Settings: Sendable, Equatable {
        public static let referenceGridSize = 128
        public var gridSize: Int = referenceGridSize
        public var sideLength: Double = 1.02
        public var batchSize: Int = 4096
        public var coarseToFine: CoarseToFine?
        public var colors: Bool = true
        public init(gridSize: Int = referenceGridSize) { self.gridSize = gridSize }
    }

    /// Loads the SDF network now, so a mesher fails at start when it is missing or broken.
    public func preload() throws { _ = try models.sdfModel() }

    public func mesh(_ cloud: PointCloud, settings: Settings, source: String,
                     progress: ((Int, Int) -> Void)? = nil) throws -> PointCloudMesher.Result {
        if let problem = PointCloudMesher.gridSizeProblem(settings.gridSize) { throw EngineError("\(source): mesh grid size \(problem)") }
        let mesher = PointCloudMesher(model: try models.sdfModel(), gridSize: settings.gridSize, sideLength: settings.sideLength,
                                      batchSize: settings.batchSize, coarseToFine: settings.coarseToFine,
                                      fillVertexChannels: settings.colors)
        return try mesher.mesh(cloud, source: source, progress: progress)
    }

    /// The cloud's mesh in every requested format, encoded in memory.
    public func meshFiles(_ cloud: PointCloud, formats: [TriMesh.FileFormat], settings: Settings,
                          source: String) throws -> [(format: TriMesh.FileFormat, data: Data)] {
        let mesh = try self.mesh(cloud, settings: settings, source: source).mesh
        return formats.map { ($0, mesh.data(as: $0)) }
    }
}
