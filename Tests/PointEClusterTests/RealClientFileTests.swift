import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointECloud
@testable import PointEMesh
import PointETestSupport
import XCTest

/// Every kind of file a job writes, opened with the libraries users load them with
/// (Tests/Scripts/read_job_files.py in a venv from Tests/Scripts/requirements-clients.txt):
/// trimesh and pygltflib for GLB; plyfile, open3d, pymeshlab and trimesh for PLY meshes;
/// pymeshlab, open3d and trimesh for OBJ; usd-core for USD; plyfile and open3d for PLY clouds;
/// numpy for NPZ; open3d for the PNG previews. What each library reads must equal what pointe's
/// own readers read from the same file, in the file's conventions (GLB, OBJ and USD +Y up, GLB
/// and USD colours linear: docs/FORMATS.md): point, vertex and face counts, coordinates, vertex
/// colours and the faces' vertex order (so the winding is ours), all finite, and trimesh must
/// find the winding consistent. A truncated GLB must be refused by both GLB libraries. The
/// report's 3D view (three.js) shows a prompt's GLB.
final class RealClientFileTests: ProcessTestCase {
    typealias Reading = [String: Any]

    func testJobFilesOpenInTheLibrariesUsersLoadThemWith() throws {
        let venv = try PythonTestVenv.makeOrSkip("clients", requirements: Fixtures.scripts + "/requirements-clients.txt")
        let dir = ClusterTestSupport.temporaryDirectory("clients")
        let prompts = try writePrompts(2, in: dir)
        let job = JobDirectory(dir + "/job")
        let run = try start(["run", prompts, "-o", job.path, "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond",
                             "--steps", "4", "--mesh-formats", "glb,ply,obj,usda", "--mesh-grid", "24"], log: dir + "/run.log")
        try run.wait(timeout: 300)
        XCTAssertEqual(run.exitStatus, 0, run.output)
        try assertComplete(job, prompts: 2)

        let (files, failures) = try read(venv, [job.path], in: dir)
        XCTAssertEqual(failures, [])
        var reads = 0
        var kinds: [String: Int] = [:]
        var summary: [String] = []
        for file in files {
            let kind = try XCTUnwrap(file["kind"] as? String)
            let path = job.file(try XCTUnwrap(file["path"] as? String))
            let readers = try XCTUnwrap(file["readers"] as? [String: Reading])
            kinds[kind, default: 0] += 1
            reads += readers.count
            switch kind {
            case "cloud_ply", "cloud_npz":
                let ours = kind == "cloud_ply" ? try PointCloud.readPLY(path) : try PointCloud.readNPZ(path)
                let rgb = try XCTUnwrap(ours.channel("R").flatMap { r in ours.channel("G").flatMap { g in ours.channel("B").map { (r, g, $0) } } }, path)
                let colours = (0..<ours.count).flatMap { [rgb.0[$0], rgb.1[$0], rgb.2[$0]] }
                for (library, reading) in readers {
                    let what = "\(library) on \(path)"
                    XCTAssertEqual(reading["points"] as? Int, ours.count, what)
                    assertClose(reading["xyz"], ours.coords, tolerance: 1e-6, what + ": coordinates")
                    assertClose(reading["rgb"], colours, tolerance: 0.5 / 255, what + ": colours")
                    XCTAssertEqual(reading["finite"] as? Bool, true, what)
                }
                if kind == "cloud_ply" { summary.append("\(ours.count) points") }
            case "mesh_glb", "mesh_ply", "mesh_obj", "mesh_usda":
                // pointe reads a mesh back in its own frame; the libraries read the file as stored.
                let format = try TriMesh.FileFormat(path: path)
                let ours = try TriMesh.read(path).inFileConventions(format)
                let colors = try XCTUnwrap(ours.colors, "\(path) has no vertex colours")
                let colours = (0..<ours.vertexCount).flatMap { [colors.r[$0], colors.g[$0], colors.b[$0]] }
                for (library, reading) in readers {
                    let what = "\(library) on \(path)"
                    XCTAssertEqual(reading["vertices"] as? Int, ours.vertexCount, what)
                    XCTAssertEqual(reading["faces"] as? Int, ours.faceCount, what)
                    if library == "open3d", format == .obj {
                        // open3d numbers an OBJ's vertices in the order the faces first use them
                        // (tinyobjloader), not the file's; marching cubes numbers them as
                        // skimage does. The same triangles over the same vertices are required.
                        XCTAssertEqual(try Self.triangles(reading), Self.triangles(ours, colours: colours), what + ": triangles differ from ours")
                        continue
                    }
                    assertClose(reading["xyz"], ours.vertices, tolerance: 1e-5, what + ": coordinates")
                    // trimesh and pymeshlab keep colours as bytes: a float colour (GLB, OBJ) is
                    // rounded (trimesh) or truncated (pymeshlab), so within one step of 1/255.
                    assertClose(reading["rgb"], colours, tolerance: 1.0 / 255 + 1e-6, what + ": vertex colours")
                    XCTAssertEqual((reading["indices"] as? [Int])?.map(UInt32.init), ours.faces, what + ": faces differ from ours (order or winding)")
                    XCTAssertEqual(reading["finite"] as? Bool, true, what)
                    if reading.keys.contains("winding_consistent") { XCTAssertEqual(reading["winding_consistent"] as? Bool, true, what) }
                }
                if kind == "mesh_glb" { summary.append("\(ours.vertexCount) vertices / \(ours.faceCount) faces") }
            case "preview_png":
                let image = try XCTUnwrap(readers["open3d"], path)
                XCTAssertGreaterThan(image["width"] as? Int ?? 0, 0, path)
                XCTAssertEqual(image["channels"] as? Int, 3, path)
            default:
                XCTFail("\(path): a file kind this test does not check: \(kind)")
            }
        }
        XCTAssertEqual(kinds, ["cloud_ply": 2, "cloud_npz": 2, "mesh_glb": 2, "mesh_ply": 2, "mesh_obj": 2, "mesh_usda": 2, "preview_png": 2])

        // The report's 3D view (three.js from Debian's libjs-three, copied into report/three/):
        // each card links to it, and it draws the prompt's GLB (headless Chromium may read files
        // beside a page opened from disk; other browsers ask for the file).
        let index = try String(contentsOfFile: job.file("index.html"), encoding: .utf8)
        XCTAssertTrue(index.contains("href=\"report/view.html#meshes/p00000.glb\""), "index.html has no 3D view link")
        let view = try XCTUnwrap(URL(string: URL(fileURLWithPath: job.file("report/view.html")).absoluteString + "#meshes/p00000.glb"))
        let dom = try XCTUnwrap(try HeadlessChromium.renderedDOM(of: view), "no chromium (scripts/install-deps.sh)")
        XCTAssertTrue(dom.contains("data-state=\"shown\""), "the 3D view did not show meshes/p00000.glb:\n\(dom.suffix(2000))")
        XCTAssertEqual(HeadlessChromium.attribute("data-vertices", in: dom), try TriMesh.read(job.file("meshes/p00000.glb")).vertexCount)

        // A truncated GLB: pointe's reader and both GLB libraries refuse it.
        let glb = job.file("meshes/p00000.glb")
        let truncated = dir + "/truncated.glb"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: glb))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try TriMesh.read(truncated))
        let (_, refusals) = try read(venv, ["--file", "mesh_glb", truncated], in: dir, expectFailure: true)
        XCTAssertEqual(refusals.filter { $0.contains(" trimesh failed") }.count, 1, "\(refusals)")
        XCTAssertEqual(refusals.filter { $0.contains(" pygltflib failed") }.count, 1, "\(refusals)")
        print("real clients: \(files.count) files of \(kinds.count) kinds, \(reads) library reads compared with pointe's readers "
              + "(\(summary.joined(separator: ", "))), winding consistent; a truncated GLB refused by \(refusals.count) of 2 GLB libraries")
    }

    /// Runs read_job_files.py; its JSON's files and failures.
    /// A mesh's triangles as a set, each as its corners' positions and colours (rounded to the
    /// file's float precision and 1/255) starting at its smallest corner, so the winding counts
    /// and the vertex numbering does not.
    static func triangles(xyz: [Double], rgb: [Double], indices: [Int]) -> Set<[Int64]> {
        func corner(_ v: Int) -> [Int64] {
            (0..<3).map { Int64((xyz[v * 3 + $0] * 1e5).rounded()) } + (0..<3).map { Int64((rgb[v * 3 + $0] * 255).rounded()) }
        }
        var result = Set<[Int64]>()
        for t in stride(from: 0, to: indices.count, by: 3) {
            let corners = (0..<3).map { corner(indices[t + $0]) }
            let first = (0..<3).min { corners[$0].lexicographicallyPrecedes(corners[$1]) }!
            result.insert((0..<3).flatMap { corners[(first + $0) % 3] })
        }
        return result
    }

    static func triangles(_ reading: Reading) throws -> Set<[Int64]> {
        triangles(xyz: try XCTUnwrap(reading["xyz"] as? [Double]), rgb: try XCTUnwrap(reading["rgb"] as? [Double]),
                  indices: try XCTUnwrap(reading["indices"] as? [Int]))
    }

    static func triangles(_ mesh: TriMesh, colours: [Float]) -> Set<[Int64]> {
        triangles(xyz: mesh.vertices.map(Double.init), rgb: colours.map(Double.init), indices: mesh.faces.map(Int.init))
    }

    func read(_ venv: PythonTestVenv, _ arguments: [String], in dir: String, expectFailure: Bool = false) throws -> ([Reading], [String]) {
        let out = dir + "/read-\(UUID().uuidString).json"
        let (status, output) = try Subprocess.run(venv.python, [Fixtures.scripts + "/read_job_files.py", out] + arguments, timeout: 600)
        XCTAssertEqual(status, expectFailure ? 1 : 0, output)
        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let result = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], output)
        return (try XCTUnwrap(result["files"] as? [Reading]), try XCTUnwrap(result["failures"] as? [String]))
    }

    func assertClose(_ value: Any?, _ expected: [Float], tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        guard let values = value as? [Double] else { return XCTFail("\(what): missing", file: file, line: line) }
        guard values.count == expected.count else {
            return XCTFail("\(what): \(values.count) values, pointe's reader has \(expected.count)", file: file, line: line)
        }
        var worst = 0.0, at = 0
        for (index, (a, b)) in zip(values, expected).enumerated() where abs(a - Double(b)) / max(1, abs(Double(b))) > worst {
            worst = abs(a - Double(b)) / max(1, abs(Double(b)))
            at = index
        }
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): value \(at) is \(values[at]), pointe reads \(expected[at])", file: file, line: line)
    }
}
