import ArgumentParser
import Foundation
import PointECloud
import PointEMesh
import PointEModels
import PointETensor

extension BenchCommand {
    struct BenchMesh: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mesh",
            abstract: "Time meshing a point cloud with the full-size sdf network (random weights).",
            discussion: """
            In one run: encoding, the dense grid with keys/values cached per cloud, the dense grid \
            recomputing them per batch (the reference's way), the coarse-to-fine variant (time and \
            network evaluations), marching cubes, vertex colouring and writing a GLB. Without \
            --cloud the cloud is --points points on a sphere of radius 0.35 with random colours. \
            --dense-batches N times only the first N batches of both dense variants and scales \
            to the whole grid (printed as such; the mesh timings then use the coarse-to-fine \
            volume); 0 runs the whole grid.
            """)

        @Option(help: "A point cloud (.npz/.ply); default: a synthetic sphere.") var cloud: String?
        @Option(help: "Synthetic cloud size.") var points = 4096
        @Option(help: "Grid samples per axis.") var grid = 128
        @Option(help: "Query points per network call.") var batch = 4096
        @Option(help: "Coarse-to-fine factor.") var factor = 4
        @Option(help: "Batches of each dense variant to time (0: the whole grid).") var denseBatches = 0

        func run() throws {
            let input = try cloud.map { try MeshCommand.readCloud($0) } ?? Self.sphereCloud(points)
            printError("building sdf with random weights...")
            guard case .sdf(let model) = try PointEModel.random(config: ReleasedModel.sdf.networkConfig, seed: 1).0 else { return }
            let layout = GridLayout(gridSize: grid, sideLength: 1.02)
            let total = grid * grid * grid
            func seconds(_ body: () throws -> Void) rethrows -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            // One bar per timed phase: a bar's clock starts when it is made, so a bar shared by the
            // dense and coarse-to-fine phases gave the second one the first one's time in its
            // elapsed, rate and ETA.
            let denseBar = TerminalProgress(label: "SDF grid", unit: .count("points"))

            let cached = SDFGridSampler(model: model, batchSize: batch)
            var encoded: SDFGridSampler.Encoded!
            let encodeTime = try seconds { encoded = try cached.encode(input, source: cloud ?? "sphere") }
            let gridPoints = SDFGridSampler.gridPoints(layout)
            let timed = denseBatches > 0 ? Array(gridPoints.prefix(min(total, denseBatches * batch) * 3)) : gridPoints
            let scale = Double(total) / Double(timed.count / 3)
            // The two variants alternate batch by batch, so the machine's load (shared cores)
            // weighs on both alike.
            let perBatch = SDFGridSampler(model: model, batchSize: batch, keysValuesPerBatch: true)
            // (Its encoding equals the cached one's minus the keys/values: both totals use encode_s.)
            let perBatchEncoded = try perBatch.encode(input, source: cloud ?? "sphere")
            var uncachedTime = 0.0
            var values: [Float] = [], uncachedValues: [Float] = []
            var denseTime = 0.0
            printError("dense grid, keys/values cached per cloud and recomputed per batch (reference), alternating:")
            for start in stride(from: 0, to: timed.count / 3, by: batch) {
                let chunk = Array(timed[(start * 3)..<(min(timed.count / 3, start + batch) * 3)])
                denseTime += try seconds { values += try cached.evaluate(chunk, encoded: encoded) }
                uncachedTime += try seconds { uncachedValues += try perBatch.evaluate(chunk, encoded: perBatchEncoded) }
                denseBar.update(done: Double(start + chunk.count / 3), total: Double(timed.count / 3))
            }
            denseBar.finish()
            let uncachedDiff = zip(uncachedValues, values).map { abs($0 - $1) }.max() ?? 0

            printError("coarse-to-fine (factor \(factor)):")
            let c2fBar = TerminalProgress(label: "SDF grid", unit: .count("points"))
            var c2f: PointCloudMesher.Result!
            let mesher = PointCloudMesher(model: model, gridSize: grid, batchSize: batch, coarseToFine: CoarseToFine(factor: factor),
                                          fillVertexChannels: false)
            let c2fTime = try seconds {
                c2f = try mesher.mesh(input, source: cloud ?? "sphere") { c2fBar.update(done: Double($0), total: Double($1)) }
            }
            c2fBar.finish()

            // Meshing stages on the dense volume when it was sampled whole, else on coarse-to-fine's.
            var volume = values.count == total ? VolumeGrid(cubeValues: values, gridSize: grid, sideLength: 1.02) : c2f.volume
            let recentered = values.count == total ? volume.recenterIfNoSignChange() : c2f.recentered
            var mesh = TriMesh(vertices: [], faces: [])
            let mcTime = seconds { mesh = MarchingCubes.extract(volume) }
            let colorTime = seconds { mesh = mesh.coloredByNearestPoint(of: input) }
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("pointe-bench-\(UUID().uuidString).glb").path
            let writeTime = try seconds { try mesh.write(to: out) }
            try? FileManager.default.removeItem(atPath: out)
            let topology = MeshTopology(mesh)

            print("cloud \(cloud ?? "synthetic sphere") points \(input.count) grid \(grid) batch \(batch) model sdf (full size, random weights)")
            print(String(format: "encode_s %.3f", encodeTime))
            let measured = denseBatches > 0 ? String(format: "  (scaled from %d measured points)", timed.count / 3) : "  (whole grid)"
            print(String(format: "dense_cached_kv_s %.2f", denseTime * scale) + measured
                  + String(format: "  %d evaluations, %.0f points/s", total, Double(timed.count / 3) / denseTime))
            print(String(format: "dense_per_batch_kv_s %.2f", uncachedTime * scale) + measured)
            print(String(format: "per_batch_vs_cached %.3f  (max |sdf diff| %.1e)", uncachedTime / denseTime, Double(uncachedDiff)))
            print(String(format: "marching_cubes_s %.3f  vertices %d faces %d watertight %@ recentred %@  (on the %@ volume)", mcTime,
                         mesh.vertexCount, mesh.faceCount, topology.isWatertight ? "yes" : "no", recentered ? "yes" : "no",
                         values.count == total ? "dense" : "coarse-to-fine"))
            print(String(format: "vertex_colors_s %.3f  write_glb_s %.3f", colorTime, writeTime))
            print(String(format: "total_cached_s %.2f  (encode + dense grid + marching cubes + colours + GLB)",
                         encodeTime + denseTime * scale + mcTime + colorTime + writeTime))
            print(String(format: "total_per_batch_kv_s %.2f", encodeTime + uncachedTime * scale + mcTime + colorTime + writeTime))
            var line = String(format: "coarse_to_fine_s %.2f  evaluations %d (%.1f%% of dense)", c2fTime + mcTime + colorTime + writeTime,
                              c2f.evaluations, 100 * Double(c2f.evaluations) / Double(total))
            if values.count == total {
                // Batch composition changes sgemm rounding, so compare geometry, not bits.
                let denseMesh = MarchingCubes.extract(volume)
                let c2fMesh = MarchingCubes.extract(c2f.volume)
                let same = denseMesh.faces == c2fMesh.faces
                let drift = same ? zip(denseMesh.vertices, c2fMesh.vertices).map { abs($0 - $1) }.max() ?? 0 : .infinity
                line += same ? String(format: "  same faces as dense, max vertex drift %.1e", Double(drift))
                    : "  differs from dense (\(c2fMesh.vertexCount) vs \(denseMesh.vertexCount) vertices)"
            }
            print(line)
        }

        /// Points on a sphere (Fibonacci lattice) with random colours.
        static func sphereCloud(_ n: Int) -> PointCloud {
            var g = SeededGenerator(seed: 4)
            var coords: [Float] = []
            for i in 0..<n {
                let z = 1 - 2 * (Float(i) + 0.5) / Float(n)
                let r = (1 - z * z).squareRoot(), phi = Float(i) * 2.399963
                coords += [0.35 * r * cos(phi), 0.35 * r * sin(phi), 0.35 * z]
            }
            let channels = ["R", "G", "B"].map { name in PointCloud.Channel(name: name, values: (0..<n).map { _ in Float(g.nextUniform()) }) }
            return PointCloud(coords: coords, channels: channels)
        }
    }
}
