import ArgumentParser
import Foundation
import PointECloud
import PointEEngine
import PointEMesh
import PointEModels

struct MeshCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Point cloud (.npz or .ply) -> coloured mesh (.glb, .ply, .obj or .usda) via the SDF network.",
        usage: "pointe mesh <cloud.npz|cloud.ply> -o <mesh.glb|.ply|.obj|.usda> [<options>]",
        discussion: """
        The SDF model comes from --models-dir: sdf.json (optional: the released config otherwise) \
        and sdf.safetensors or sdf.pt (e.g. the released sdf.pt, or `pointe models init-random`). \
        The cloud's SDF is sampled on a --grid^3 grid over a cube of side --side centred at the \
        origin, meshed by marching cubes at level 0, and each vertex takes its nearest point's \
        colour. --coarse-to-fine N samples every N-th grid point first and refines only near \
        the surface. The output format follows the extension; the file is written atomically. \
        GLB, OBJ and USD are written +Y up, PLY z-up like the cloud, so the object stands upright \
        in Blender and glTF viewers from every format (docs/FORMATS.md).

        Examples:
          pointe mesh corgi.npz -o corgi.glb
          pointe mesh corgi.ply -o corgi.usda --grid 64
        """)

    @Argument(help: "Input point cloud (.npz as the reference saves it, or .ply).") var input: String
    @Option(name: .shortAndLong, help: "Output mesh (.glb, .ply, .obj or .usda).") var output: String
    @Option(name: .customLong("models-dir"), help: "Directory holding sdf.json / sdf.safetensors (or sdf.pt). Default: the model cache (\(ModelCache.defaultDescription)), where `pointe models download` puts the released files.")
    var modelsDirOption: String?
    var modelsDir: String { modelsDirOption ?? ModelCache.defaultDirectory() }
    @Option(parsing: .unconditional, help: "Grid samples per axis.") var grid = CloudMeshingEngine.Settings.referenceGridSize
    @Option(parsing: .unconditional, help: "Side length of the sampled cube.") var side = 1.02
    @Option(parsing: .unconditional, help: "Query points per network call.") var batch = 4096
    @Option(parsing: .unconditional, help: "Coarse-to-fine factor (0: sample every grid point, like the reference; else 2 to 64).") var coarseToFine = 0
    @Option(parsing: .unconditional, help: "Coarse-to-fine: assumed bound on the SDF's gradient (larger is safer, slower).") var lipschitz: Float = 1
    @Flag(help: "Do not colour vertices.") var noColors = false
    @OptionGroup var threading: ThreadOptions

    func validate() throws {
        try OptionBounds.check(PointCloudMesher.gridSizeProblem(grid), "--grid")
        try OptionBounds.check(side, atLeast: 0, exclusive: true, "--side")
        try OptionBounds.check(side, 0...100, "--side")  // the SDF model knows [-1, 1]^3; far beyond is empty space
        try OptionBounds.check(batch, 1...(1 << 20), "--batch")
        if coarseToFine != 0 { try OptionBounds.check(coarseToFine, 2...64, "--coarse-to-fine", "or 0 for every grid point") }
        try OptionBounds.check(Double(lipschitz), atLeast: 0, exclusive: true, "--lipschitz")
    }

    func run() throws {
        try threading.apply()
        let format = try TriMesh.FileFormat(path: output)
        let cloud = try Self.readCloud(input)
        let engine = CloudMeshingEngine(models: ModelDirectory(modelsDir))
        var settings = CloudMeshingEngine.Settings(gridSize: grid)
        settings.sideLength = side
        settings.batchSize = batch
        settings.coarseToFine = coarseToFine >= 2 ? CoarseToFine(factor: coarseToFine, lipschitz: lipschitz) : nil
        settings.colors = !noColors
        let start = Date()
        let bar = TerminalProgress(label: "SDF grid", unit: .count("points"))
        let result = try engine.mesh(cloud, settings: settings, source: input) { done, total in bar.update(done: Double(done), total: Double(total)) }
        bar.finish()
        try result.mesh.write(to: output)
        let topology = MeshTopology(result.mesh)
        print("wrote \(output) (\(format.rawValue)): \(result.mesh.vertexCount) vertices, \(result.mesh.faceCount) faces, "
              + "watertight \(topology.isWatertight), \(result.evaluations) SDF evaluations"
              + (result.recentered ? ", volume recentred (no sign change)" : "")
              + String(format: ", %.1f s", Date().timeIntervalSince(start)))
    }

    static func readCloud(_ path: String) throws -> PointCloud {
        switch (path as NSString).pathExtension.lowercased() {
        case "npz": return try PointCloud.readNPZ(path)
        case "ply": return try PointCloud.readPLY(path)
        default: throw CommandFailure("\(path): unknown point cloud format (use .npz or .ply)")
        }
    }
}
