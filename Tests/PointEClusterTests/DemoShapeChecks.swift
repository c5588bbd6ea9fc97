import Foundation
import PointECloud
import PointEClusterBase
import PointEJob
import PointEMesh
import PointETensor

/// What a finished job's cloud of a demo-set caption must look like (issue 35), judged against
/// ground-truth clouds of the grammar's shapes (Tests/Fixtures/demo-ground-truth, written by
/// `scripts/train/train.py ground-truth`). The checks return their problems as text, so the
/// same code shows a good set passing and a broken one failing (DemoModelQualityTests).
struct DemoShapeChecks {
    /// The caption grammar as grammar.json (the set's single definition) states it.
    struct Grammar: Decodable {
        struct Shape: Decodable { let name: String }
        struct Colour: Decodable { let name: String; let rgb: [Float] }
        struct Size: Decodable { let word: String; let scale: Float }
        let shapes: [Shape]
        let colours: [Colour]
        let sizes: [Size]

        /// "a [SIZE ]COLOUR SHAPE" read back into its parts; nil for text outside the grammar.
        func parse(_ caption: String) -> (shape: String, colour: Colour, scale: Float)? {
            var words = caption.split(separator: " ").map(String.init)
            guard words.first == "a", words.count == 3 || words.count == 4 else { return nil }
            words.removeFirst()
            let size = words.count == 3 ? sizes.first { $0.word == words[0] } : sizes.first { $0.word.isEmpty }
            guard let size, let colour = colours.first(where: { $0.name == words[words.count - 2] }),
                  let shape = shapes.first(where: { $0.name == words[words.count - 1] }) else { return nil }
            return (shape.name, colour, size.scale)
        }
    }

    /// index.json of the ground-truth directory.
    struct GroundTruthIndex: Decodable {
        struct Entry: Decodable { let file: String; let shape: String; let scale: Float }
        let clouds: [Entry]
    }

    let grammar: Grammar
    /// Ground-truth coordinates by shape name and scale.
    let truth: [String: [Float: [[Float]]]]
    /// The Chamfer bound of each scale: halfway between the sampling floor (the distance
    /// between two ground-truth clouds of one shape: two perfect samples are this far apart)
    /// and the nearest other shape (the smallest distance between two different shapes'
    /// ground truth). A cloud within it is nearer a perfect sample of its shape than halfway
    /// to the most similar other shape, whichever that is.
    let chamferBound: [Float: Float]

    init(grammarPath: String, groundTruth directory: String) throws {
        grammar = try JSONDecoder().decode(Grammar.self, from: Data(contentsOf: URL(fileURLWithPath: grammarPath)))
        let index = try JSONDecoder().decode(GroundTruthIndex.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/index.json")))
        var truth: [String: [Float: [[Float]]]] = [:]
        for entry in index.clouds {
            let cloud = try PointCloud.readNPZ(directory + "/" + entry.file)
            truth[entry.shape, default: [:]][entry.scale, default: []].append(cloud.coords)
        }
        self.truth = truth
        var bound: [Float: Float] = [:]
        for scale in Set(index.clouds.map(\.scale)) {
            let clouds = truth.compactMap { name, byScale in byScale[scale].map { (name, $0) } }
            var nearest = Float.infinity, floor: [Float] = []
            for (i, a) in clouds.enumerated() {
                if a.1.count > 1 { floor.append(Self.chamfer(a.1[0], a.1[1])) }
                for b in clouds[(i + 1)...] { nearest = min(nearest, Self.chamfer(a.1[0], b.1[0])) }
            }
            guard !floor.isEmpty, nearest.isFinite else {
                throw ClusterError("\(directory)/index.json: the bounds need two clouds of every shape at size \(scale)")
            }
            bound[scale] = (floor.reduce(0, +) / Float(floor.count) + nearest) / 2
        }
        chamferBound = bound
    }

    /// Symmetric Chamfer distance: the mean distance from each point to the other cloud's
    /// nearest point, averaged over both directions. The squared distances of every pair come
    /// from one sgemm (|a|^2 + |b|^2 - 2 a.b): brute force in plain loops took minutes in a
    /// debug build. Squares below 0 (rounding, for coincident points) count as 0.
    static func chamfer(_ a: [Float], _ b: [Float]) -> Float {
        let m = a.count / 3, n = b.count / 3
        guard m > 0, n > 0 else { return .infinity }
        var dot = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                dot.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transA: false, transB: true, m: m, n: n, k: 3, alpha: -2, a: pa.baseAddress!, lda: 3,
                               b: pb.baseAddress!, ldb: 3, c: pc.baseAddress!, ldc: n)
                }
            }
        }
        func squaredNorms(_ p: [Float], _ count: Int) -> [Float] {
            (0..<count).map { i -> Float in
                let x = p[3 * i], y = p[3 * i + 1], z = p[3 * i + 2]
                return x * x + y * y + z * z
            }
        }
        let normA = squaredNorms(a, m), normB = squaredNorms(b, n)
        var rowBest = [Float](repeating: .infinity, count: m), columnBest = [Float](repeating: .infinity, count: n)
        for i in 0..<m {
            for j in 0..<n {
                let d = dot[i * n + j] + normA[i] + normB[j]
                if d < rowBest[i] { rowBest[i] = d }
                if d < columnBest[j] { columnBest[j] = d }
            }
        }
        func mean(_ squares: [Float]) -> Float { squares.reduce(0) { $0 + max($1, 0).squareRoot() } / Float(squares.count) }
        return (mean(rowBest) + mean(columnBest)) / 2
    }

    /// What one prompt's outputs got wrong: its cloud's nearest shape (Chamfer against every
    /// shape's ground truth at the caption's size) and distance, its mean colour's nearest
    /// grammar colour, and whether its mesh (if the job made one) is closed.
    func problems(caption: String, cloud: PointCloud, mesh: TriMesh?) -> [String] {
        guard let (shape, colour, scale) = grammar.parse(caption) else { return ["\"\(caption)\" is not a caption of the grammar"] }
        var problems: [String] = []
        let points = cloud.coords  // [N, 3] row-major
        let distances = truth.compactMap { name, byScale in
            byScale[scale].map { clouds in (name, clouds.map { Self.chamfer(points, $0) }.min()!) }
        }.sorted { $0.1 < $1.1 }
        let own = distances.first { $0.0 == shape }?.1 ?? .infinity
        if distances.first?.0 != shape {
            problems.append("nearest shape \(distances.first?.0 ?? "none") (Chamfer \(distances.first?.1 ?? .nan)), not \(shape) (\(own))")
        }
        if let bound = chamferBound[scale], !(own <= bound) {
            problems.append("Chamfer to the \(shape) \(own) above the bound \(bound)")
        }
        let mean = ["R", "G", "B"].map { name in cloud.channel(name).map { $0.reduce(0, +) / Float(max($0.count, 1)) } ?? .nan }
        let nearestColour = grammar.colours.min { a, b in
            zip(a.rgb, mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) < zip(b.rgb, mean).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        }
        if nearestColour?.name != colour.name {
            problems.append("mean colour \(mean.map { String(format: "%.2f", $0) }) is nearest \(nearestColour?.name ?? "none"), not \(colour.name)")
        }
        if let mesh {
            let topology = MeshTopology(mesh)
            if mesh.faceCount == 0 || !topology.isWatertight {
                problems.append("mesh not closed: \(mesh.faceCount) faces, \(topology.boundaryEdges) boundary and \(topology.nonManifoldEdges) non-manifold edges")
            }
        }
        return problems
    }

    /// Every done prompt of a finished job, checked: "ID (caption): problem" lines, and the
    /// number of prompts checked.
    func problems(job directory: JobDirectory) throws -> (problems: [String], checked: Int) {
        let lines = try String(contentsOfFile: directory.manifestLines, encoding: .utf8).split(separator: "\n")
        var problems: [String] = [], checked = 0
        for text in lines {
            let line = try JSONDecoder().decode(ManifestLine.self, from: Data(text.utf8))
            let caption = line.prompt ?? ""
            guard line.status == "done", let files = line.files, let npz = files["cloud_npz"] else {
                problems.append("\(line.id) (\(caption)): \(line.status), \(line.error ?? "no cloud")")
                continue
            }
            let cloud = try PointCloud.readNPZ(directory.path + "/" + npz.path)
            let mesh = try files["mesh_ply"].map { try TriMesh.read(directory.path + "/" + $0.path) }
            problems += self.problems(caption: caption, cloud: cloud, mesh: mesh).map { "\(line.id) (\(caption)): \($0)" }
            checked += 1
        }
        return (problems, checked)
    }
}
