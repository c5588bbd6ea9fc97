import Foundation
import PointECloud
import PointECheckpoint
import PointEMesh
import PointETensor

/// Checks marching cubes against the reference's `marching_cubes` fixture (NAME.json +
/// NAME.npz: volumes on the pc_to_mesh grid and skimage's surfaces after pc_to_mesh's face
/// flip). For every volume it meshes `<case>_volume` (recentred like the reference when it has
/// no sign change) and compares surfaces both ways, topology, orientation, normals and, when
/// the example cloud is found, nearest-point vertex colours.
public enum MarchingCubesParity {
    public struct CaseReport: Sendable {
        public var name: String
        public var vertices: (ours: Int, theirs: Int)
        public var faces: (ours: Int, theirs: Int)
        /// Largest distance of our vertices to their surface, and of theirs to ours, in voxels.
        public var oursToTheirs: Double
        public var theirsToOurs: Double
        public var euler: (ours: Int, theirs: Int)
        public var boundaryEdges: (ours: Int, theirs: Int)
        public var consistentlyOriented: Bool
        public var degenerateFaces: Int
        /// Signed enclosed volumes (same sign: same orientation).
        public var signedVolume: (ours: Double, theirs: Double)
        /// Fraction of our vertex normals on the outward side of their faces.
        public var normalsAlongFaces: Double
        /// Largest |ours - theirs| over the components of the unit normals at the same vertex.
        public var maxNormalError: Double
        /// Largest angle (degrees) between our normal and theirs at the same vertex (atan2 of
        /// |cross| and dot, accurate for tiny angles).
        public var maxNormalAngle: Double
        /// Vertices whose faces are the same triangles as theirs (skimage's normal of a vertex
        /// depends on how many of its triangles each cell around it holds), and the largest
        /// |ours - theirs| normal component over those.
        public var sameTriangleVertices: Int
        public var maxNormalErrorSameTriangles: Double
        /// Max |ours - theirs| of the recentred volume (nil when the case is not recentred).
        public var recenterError: Float?
        /// Vertices whose nearest-point colour differs from theirs beyond a distance tie.
        public var colorMismatches: Int?

        public static let distanceTolerance = 0.01
        /// Our normals follow skimage's definition (see MarchingCubes): at a vertex whose
        /// triangles are skimage's they differ from the fixture's float32 normals by rounding
        /// only (~1e-7); this bounds each component there.
        public static let normalTolerance = 1e-4
        /// Elsewhere our fan splits some quads and hexagons along another diagonal than
        /// Lewiner's tables, which changes the per-cell triangle counts in the normal's sum: up to
        /// ~7 degrees at grid 32 (sharp corners can do worse); this only catches a wrong sign
        /// or formula.
        public static let normalAngleTolerance = 10.0

        public var failures: [String] {
            var f: [String] = []
            if oursToTheirs > Self.distanceTolerance { f.append("our vertices off their surface") }
            if theirsToOurs > Self.distanceTolerance { f.append("their vertices off our surface") }
            if euler.ours != euler.theirs { f.append("Euler characteristic") }
            if boundaryEdges.ours != boundaryEdges.theirs { f.append("boundary edges") }
            if !consistentlyOriented { f.append("inconsistent orientation") }
            if degenerateFaces > 0 { f.append("degenerate faces") }
            if (signedVolume.ours > 0) != (signedVolume.theirs > 0) { f.append("orientation flipped") }
            if normalsAlongFaces < 1 { f.append("normals against faces") }
            if !(maxNormalErrorSameTriangles <= Self.normalTolerance) { f.append("normals differ where the triangles agree") }
            if !(maxNormalAngle <= Self.normalAngleTolerance) { f.append("normals differ") }
            if let e = recenterError, e > 1e-5 { f.append("recentring") }
            if let c = colorMismatches, c > 0 { f.append("vertex colours") }
            return f
        }
        public var passed: Bool { failures.isEmpty }

        public var lines: [String] {
            var out = [String(format: "  %@ %@  surface dist ours->theirs %.2e vox, theirs->ours %.2e vox (tol %.0e)",
                              passed ? "ok  " : "FAIL", name, oursToTheirs, theirsToOurs, Self.distanceTolerance)]
            out.append("       verts \(vertices.ours)/\(vertices.theirs) faces \(faces.ours)/\(faces.theirs) euler \(euler.ours)/\(euler.theirs)"
                       + " boundary edges \(boundaryEdges.ours)/\(boundaryEdges.theirs) degenerate \(degenerateFaces)"
                       + String(format: " volume %.5f/%.5f", signedVolume.ours, signedVolume.theirs))
            out.append(String(format: "       normals at the %d/%d vertices with skimage's triangles: max|err| %.2e (tol %.0e per component)",
                              sameTriangleVertices, vertices.ours, maxNormalErrorSameTriangles, Self.normalTolerance))
            out.append(String(format: "       normals at all vertices: max|err| %.2e, max angle %.2e deg (tol %.0f deg)",
                              maxNormalError, maxNormalAngle, Self.normalAngleTolerance))
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
        let faceNormals = ours.areaWeightedVertexNormals()
        var along = 0
        for v in 0..<ours.vertexCount {
            var dot: Float = 0
            for k in 0..<3 { dot += ours.normals[v * 3 + k] * faceNormals[v * 3 + k] }
            if dot > 0 { along += 1 }
        }
        // Same vertex in both meshes: their nearest vertex to ours.
        let match = KDTree(points: theirs.vertices).nearest(queries: ours.vertices)
        // Each vertex's faces as sets of their vertex indices (ours mapped to theirs).
        func incidentFaces(_ mesh: TriMesh, _ index: (Int) -> Int) -> [Set<[Int]>] {
            var sets = [Set<[Int]>](repeating: [], count: mesh.vertexCount)
            for f in 0..<mesh.faceCount {
                let corners = (0..<3).map { Int(mesh.faces[f * 3 + $0]) }
                let key = corners.map(index).sorted()
                for c in corners { sets[c].insert(key) }
            }
            return sets
        }
        let (ourFaces, theirFaces) = (incidentFaces(ours) { match[$0] }, incidentFaces(theirs) { $0 })
        var maxAngle = 0.0, maxError = 0.0, maxErrorSame = 0.0, same = 0
        for (v, w) in match.enumerated() {
            let a = SIMD3<Double>((0..<3).map { Double(ours.normals[v * 3 + $0]) })
            let b = SIMD3<Double>((0..<3).map { Double(theirs.normals[w * 3 + $0]) })
            let d = a - b
            let error = max(abs(d.x), abs(d.y), abs(d.z))
            maxError = max(maxError, error)
            if ourFaces[v] == theirFaces[w] {
                same += 1
                maxErrorSame = max(maxErrorSame, error)
            }
            let cross = SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
            maxAngle = max(maxAngle, atan2((cross * cross).sum().squareRoot(), (a * b).sum()) * 180 / .pi)
        }
        var colorMismatches: Int?
        if let cloud, let theirColors {
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
                          oursToTheirs: oursToTheirs, theirsToOurs: theirsToOurs,
                          euler: (a.eulerCharacteristic, b.eulerCharacteristic), boundaryEdges: (a.boundaryEdges, b.boundaryEdges),
                          consistentlyOriented: a.isConsistentlyOriented, degenerateFaces: a.degenerateFaces,
                          signedVolume: (MeshTopology.signedVolume(ours), MeshTopology.signedVolume(theirs)),
                          normalsAlongFaces: ours.vertexCount == 0 ? 0 : Double(along) / Double(ours.vertexCount),
                          maxNormalError: ours.vertexCount == 0 ? .infinity : maxError, maxNormalAngle: maxAngle,
                          sameTriangleVertices: same, maxNormalErrorSameTriangles: maxErrorSame, recenterError: recenterError, colorMismatches: colorMismatches)
    }
}
