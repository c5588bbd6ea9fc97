import Foundation
import PointECloud
import PointECheckpoint
import PointEMesh
import PointETensor

/// Checks marching cubes against the reference's marching-cubes fixtures (NAME.json + NAME.npz:
/// volumes on the pc_to_mesh grid and skimage's surfaces after pc_to_mesh's face swap). For
/// every volume it meshes `<case>_volume` (recentred like the reference when it has no sign
/// change) and requires skimage's surface: the same faces as sets of oriented triangles over
/// exact vertex positions, and the normal at every vertex within 1e-4 per component (see
/// MeshMatch); with the example cloud at hand, the same nearest-point vertex colours. Surface
/// distances and topology are reported to help locate a difference.
public enum MarchingCubesParity {
    public struct CaseReport: Sendable {
        public var name: String
        public var vertices: (ours: Int, theirs: Int)
        public var faces: (ours: Int, theirs: Int)
        public var match: MeshMatch
        /// Largest distance of our vertices to their surface, and of theirs to ours, in voxels.
        public var oursToTheirs: Double
        public var theirsToOurs: Double
        public var euler: (ours: Int, theirs: Int)
        public var boundaryEdges: (ours: Int, theirs: Int)
        public var consistentlyOriented: (ours: Bool, theirs: Bool)
        public var degenerateFaces: Int
        /// Signed enclosed volumes (same sign: same orientation).
        public var signedVolume: (ours: Double, theirs: Double)
        /// Max |ours - theirs| of the recentred volume (nil when the case is not recentred).
        public var recenterError: Float?
        /// Vertices whose nearest-point colour differs from theirs beyond a distance tie.
        public var colorMismatches: Int?

        public static let normalTolerance = MeshMatch.normalTolerance

        public var failures: [String] {
            var f = match.failures
            if let e = recenterError, e > 0 { f.append("recentring") }
            if let c = colorMismatches, c > 0 { f.append("vertex colours") }
            return f
        }
        public var passed: Bool { failures.isEmpty }

        public var lines: [String] {
            var out = [String(format: "  %@ %@  faces only ours %d, only theirs %d; normals max|err| %.2e (tol %.0e per component)%@",
                              passed ? "ok  " : "FAIL", name, match.facesOnlyOurs, match.facesOnlyTheirs, match.maxNormalError,
                              Self.normalTolerance, match.identicalArrays ? "; arrays identical" : "")]
            out.append("       verts \(vertices.ours)/\(vertices.theirs) faces \(faces.ours)/\(faces.theirs) euler \(euler.ours)/\(euler.theirs)"
                       + " boundary edges \(boundaryEdges.ours)/\(boundaryEdges.theirs) consistent \(consistentlyOriented.ours)/\(consistentlyOriented.theirs)"
                       + " degenerate \(degenerateFaces)" + String(format: " volume %.5f/%.5f", signedVolume.ours, signedVolume.theirs))
            out.append(String(format: "       surface dist ours->theirs %.2e vox, theirs->ours %.2e vox; vertex positions only ours %d, only theirs %d",
                              oursToTheirs, theirsToOurs, match.verticesOnlyOurs, match.verticesOnlyTheirs))
            if let e = recenterError { out.append(String(format: "       recentred volume max|err| %.2e", e)) }
            if let c = colorMismatches { out.append("       vertex colour mismatches \(c)") }
            if !passed { out.append("       failed: \(failures.joined(separator: ", "))") }
            return out
        }
    }

    public static func isFixture(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path + ".npz")
            && ((try? String(contentsOfFile: path + ".json", encoding: .utf8))?.contains("marching_cubes") ?? false)
    }

    /// `path` without extension. The example cloud (pc_corgi.npz) is looked for next to the
    /// fixture and in ../data.
    public static func run(fixture path: String) throws -> [CaseReport] {
        let jsonPath = path + ".json"
        guard let jsonData = FileManager.default.contents(atPath: jsonPath),
              let json = try? JSONSerialization.jsonObject(with: jsonData) as? [String: Any] else {
            throw MeshError(jsonPath, "missing or not a JSON object")
        }
        guard let gridSize = json["grid_size"] as? Int, let side = json["side_length"] as? Double else {
            throw MeshError(jsonPath, "no grid_size / side_length")
        }
        let arrays: StateDict
        do { arrays = try NumpyReader.loadNpz(path + ".npz") } catch let e as CheckpointError {
            throw MeshError(path + ".npz", e.message)
        }
        let layout = GridLayout(gridSize: gridSize, sideLength: side)
        let directory = (path as NSString).deletingLastPathComponent
        let cloudPath = [directory + "/pc_corgi.npz", directory + "/../data/pc_corgi.npz"].first { FileManager.default.fileExists(atPath: $0) }
        let cloud = try cloudPath.map { try PointCloud.readNPZ($0) }
        let names = arrays.keys.filter { $0.hasSuffix("_volume") }.map { String($0.dropLast("_volume".count)) }
        guard !names.isEmpty else { throw MeshError(path + ".npz", "no <case>_volume arrays") }
        return try names.map { name in
            func floats(_ key: String) throws -> [Float] {
                guard let a = arrays[key] else { throw MeshError(path + ".npz", "missing array \(key)") }
                return try a.floatTensor(convertingIntegers: true).values
            }
            var grid = VolumeGrid(cubeValues: try floats(name + "_volume"), gridSize: gridSize, sideLength: side)
            grid.recenterIfNoSignChange()
            let recenterError = try arrays[name + "_volume_recentered"].map { _ in
                zip(grid.values, try floats(name + "_volume_recentered")).map { abs($0 - $1) }.max() ?? 0
            }
            let ours = MarchingCubes.extract(grid)
            guard let faceArray = arrays[name + "_faces"] else { throw MeshError(path + ".npz", "missing array \(name)_faces") }
            let theirs = TriMesh(vertices: try floats(name + "_verts"), faces: try faceArray.int64Values().map { UInt32($0) },
                                 normals: try floats(name + "_normals"))
            return try compare(name: name, ours: ours, theirs: theirs, voxel: Double(layout.voxelSize), recenterError: recenterError,
                               cloud: cloud, theirColors: arrays[name + "_vertex_rgb"] != nil ? try floats(name + "_vertex_rgb") : nil)
        }
    }

    static func compare(name: String, ours: TriMesh, theirs: TriMesh, voxel: Double, recenterError: Float?,
                        cloud: PointCloud?, theirColors: [Float]?) throws -> CaseReport {
        let (a, b) = (MeshTopology(ours), MeshTopology(theirs))
        let empty = ours.faceCount == 0 || theirs.faceCount == 0
        let oursToTheirs: Double = empty ? .infinity : SurfaceDistance(mesh: theirs, cellSize: voxel).maxDistance(points: ours.vertices) / voxel
        let theirsToOurs: Double = empty ? .infinity : SurfaceDistance(mesh: ours, cellSize: voxel).maxDistance(points: theirs.vertices) / voxel
        var colorMismatches: Int?
        if let cloud, let theirColors {
            // Their vertex nearest to each of ours (the same vertex where the surfaces match).
            let match = KDTree(points: theirs.vertices).nearest(queries: ours.vertices)
            let colored = ours.coloredByNearestPoint(of: cloud)
            let nearest = KDTree(points: cloud.coords).nearest(queries: ours.vertices)
            var mismatches = 0
            for (v, w) in match.enumerated() {
                let rgb = ["R", "G", "B"].map { colored.channel($0)![v] }
                guard rgb != [theirColors[w * 3], theirColors[w * 3 + 1], theirColors[w * 3 + 2]] else { continue }
                // A different point at (float32-rounding) equal distance is a tie, not an error.
                let q = ours.vertex(v)
                func squaredDistance(_ i: Int) -> Float {
                    let c = SIMD3<Float>(cloud.coords[i * 3], cloud.coords[i * 3 + 1], cloud.coords[i * 3 + 2])
                    return ((c - q) * (c - q)).sum()
                }
                let theirRGB: [Float] = [theirColors[w * 3], theirColors[w * 3 + 1], theirColors[w * 3 + 2]]
                let d = squaredDistance(nearest[v])
                let tied = (0..<cloud.count).contains { i in
                    let close: Bool = abs(squaredDistance(i) - d) <= 1e-6 * max(d, 1e-6) + 1e-7
                    let sameColor: Bool = ["R", "G", "B"].enumerated().allSatisfy { k, ch in cloud.channel(ch)![i] == theirRGB[k] }
                    return close && sameColor
                }
                if !tied { mismatches += 1 }
            }
            colorMismatches = mismatches
        }
        return CaseReport(name: name, vertices: (ours.vertexCount, theirs.vertexCount), faces: (ours.faceCount, theirs.faceCount),
                          match: MeshMatch(ours: ours, theirs: theirs), oursToTheirs: oursToTheirs, theirsToOurs: theirsToOurs,
                          euler: (a.eulerCharacteristic, b.eulerCharacteristic), boundaryEdges: (a.boundaryEdges, b.boundaryEdges),
                          consistentlyOriented: (a.isConsistentlyOriented, b.isConsistentlyOriented), degenerateFaces: a.degenerateFaces,
                          signedVolume: (MeshTopology.signedVolume(ours), MeshTopology.signedVolume(theirs)),
                          recenterError: recenterError, colorMismatches: colorMismatches)
    }
}
