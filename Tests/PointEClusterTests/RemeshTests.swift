import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointEMesh
import PointETestSupport
import XCTest

/// `pointe remesh`: a finished job's stored clouds meshed again at another grid and in other
/// formats, by local meshers, without sampling; every manifest line replaced, old meshes gone
/// only after the new ones are recorded; a remesh killed midway resumes.
final class RemeshTests: ProcessTestCase {
    func runPointe(_ arguments: [String], log: String, timeout: TimeInterval = 300) throws -> (status: Int32, output: String) {
        let child = try start(arguments, log: log)
        let status = try child.wait(timeout: timeout)
        return (status, child.output)
    }

    func manifest(_ job: JobDirectory) throws -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: try ClusterTestSupport.manifestLines(job).map { ($0["id"] as! String, $0) })
    }

    func files(_ line: [String: Any]?) -> [String: String] {
        ((line?["files"] as? [String: Any]) ?? [:]).mapValues { ($0 as! [String: Any])["path"] as! String }
    }

    /// The report's pages (the summary and every page of prompts) link only files the job
    /// directory holds: a remesh deletes the old meshes, so every page naming them is rewritten.
    func assertReportLinksExist(_ job: JobDirectory, file: StaticString = #filePath, line: UInt = #line) throws {
        let (pages, links, missing) = try ClusterTestSupport.reportLinksToMissingFiles(job)
        XCTAssertGreaterThanOrEqual(pages, 3, "index.html, report/pages.html and report/page-1.html", file: file, line: line)
        XCTAssertGreaterThan(links, 0, "no link into the job directory found", file: file, line: line)
        XCTAssertEqual(missing, [], "report links to files that do not exist", file: file, line: line)
    }

    func testRemeshReplacesEveryPromptsMeshesWithoutSampling() throws {
        let dir = ClusterTestSupport.temporaryDirectory("remesh")
        let models = ClusterTestSupport.modelsDirectory
        let prompts = try writePrompts(8, in: dir)
        let job = JobDirectory(dir + "/job")
        let made = try runPointe(["run", prompts, "-o", job.path, "--models-dir", models, "--model", "base40M-uncond", "--no-upsample",
                                  "--steps", "2", "--mesh-formats", "glb", "--mesh-grid", "8", "--quiet"], log: dir + "/run.log")
        XCTAssertEqual(made.status, 0, made.output)
        try assertComplete(job, prompts: 8)
        let before = try manifest(job)
        let order = try ClusterTestSupport.manifestLines(job).map { $0["id"] as! String }
        let attempts = try JobStore(path: job.store).attempts().count

        // Remesh 1: grid 12, PLY and OBJ instead of GLB.
        let first = try runPointe(["remesh", job.path, "--grid", "12", "--mesh-formats", "ply,obj", "--models-dir", models], log: dir + "/remesh1.log")
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertTrue(first.output.contains("remesh 1 (grid 12, ply,obj): 8 prompt(s) remeshed, 0 kept"), first.output)
        try assertComplete(job, prompts: 8)
        try assertReportLinksExist(job)
        let after = try manifest(job)
        XCTAssertEqual(try ClusterTestSupport.manifestLines(job).map { $0["id"] as! String }, order, "the lines changed order")
        XCTAssertEqual(try JobStore(path: job.store).attempts().count, attempts, "a remesh sampled")
        for (id, old) in before {
            let oldFiles = files(old), newFiles = files(after[id])
            XCTAssertEqual(newFiles.keys.sorted(), ["cloud_npz", "cloud_ply", "mesh_obj", "mesh_ply", "preview_png"], id)
            XCTAssertEqual(newFiles["mesh_ply"], "meshes/\(id).r1.ply")
            XCTAssertEqual(newFiles["mesh_obj"], "meshes/\(id).r1.obj")
            XCTAssertEqual(oldFiles["cloud_npz"], newFiles["cloud_npz"])
            XCTAssertEqual(((old["files"] as! [String: Any])["cloud_npz"] as! [String: Any])["sha256"] as? String,
                           ((after[id]!["files"] as! [String: Any])["cloud_npz"] as! [String: Any])["sha256"] as? String, "\(id): its cloud changed")
            XCTAssertEqual((old["timings"] as? [String: Any])?["sample_seconds"] as? Double, (after[id]!["timings"] as? [String: Any])?["sample_seconds"] as? Double)
            XCTAssertFalse(FileManager.default.fileExists(atPath: job.file(oldFiles["mesh_glb"]!)), "\(id): the replaced GLB is still there")
        }
        // The new meshes are the grid-12 meshes of the stored clouds, as `pointe mesh` makes them.
        let probe = "p00003"
        let reference = dir + "/reference.ply"
        let meshed = try runPointe(["mesh", job.file("clouds/\(probe).npz"), "-o", reference, "--models-dir", models, "--grid", "12"], log: dir + "/mesh.log")
        XCTAssertEqual(meshed.status, 0, meshed.output)
        let ours = try TriMesh.read(job.file("meshes/\(probe).r1.ply"))
        let expected = try TriMesh.read(reference)
        XCTAssertEqual(ours.vertexCount, expected.vertexCount)
        XCTAssertEqual(ours.faces, expected.faces)

        // Remesh 2 (grid 40, GLB), killed after some prompts: every line still names files that
        // exist and match; the same command resumes and finishes the rest.
        let arguments = ["remesh", job.path, "--grid", "40", "--mesh-formats", "glb", "--models-dir", models]
        let killed = try start(arguments, log: dir + "/remesh2.log")
        try waitFor("a prompt of remesh 2 to be recorded", timeout: 240) {
            let store = try JobStore(path: job.store)
            let generation = try store.meshGeneration(), remeshing = try store.counts().remeshing
            return generation == 2 && remeshing < 8
        }
        killed.killGroup()
        let remaining = try JobStore(path: job.store).counts().remeshing
        XCTAssertGreaterThan(remaining, 0, "remesh 2 finished before it was killed: nothing was resumed")
        // The manifest lags the store by at most a second's results, never naming a missing file.
        let halfway = try ClusterTestSupport.verifiedChecksums(job)
        XCTAssertEqual(halfway.count, 8, "a prompt lost its manifest line while remeshing")
        XCTAssertLessThanOrEqual(halfway.values.filter { $0["mesh_glb"] != nil }.count, 8 - remaining)
        XCTAssertGreaterThanOrEqual(halfway.values.filter { $0["mesh_ply"] != nil }.count, remaining, "prompts not yet remeshed lost their previous meshes")

        let resumed = try runPointe(arguments, log: dir + "/remesh3.log")
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("remesh 2 resumed, grid 40, glb: \(remaining) prompt(s) to mesh"), resumed.output)
        // The summary counts the whole remesh, not only what the resumed run meshed.
        XCTAssertTrue(resumed.output.contains("remesh 2 (grid 40, glb): 8 prompt(s) remeshed, 0 kept"), resumed.output)
        try assertComplete(job, prompts: 8)
        try assertReportLinksExist(job)
        let final = try manifest(job)
        for id in order { XCTAssertEqual(files(final[id])["mesh_glb"], "meshes/\(id).r2.glb", id) }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: job.meshes).filter { !$0.contains(".r2.") }
        XCTAssertEqual(leftovers, [], "meshes of earlier settings left behind")
        XCTAssertEqual(try JobStore(path: job.store).attempts().count, attempts, "a remesh sampled")
        print("remesh: 8 prompts remeshed grid 8 glb -> grid 12 ply,obj (equal to pointe mesh), then grid 40 glb killed with "
              + "\(remaining) to go and resumed; 8 manifest lines throughout, \(attempts) sampling attempts before and after")
    }

    /// Remote meshers: the remesh serves on TCP with no local mesher; a `pointe mesher` that
    /// connects does the work.
    func testRemeshWithARemoteMesher() throws {
        let dir = ClusterTestSupport.temporaryDirectory("remesh-remote")
        let models = ClusterTestSupport.modelsDirectory
        let job = JobDirectory(dir + "/job")
        let made = try runPointe(["run", try writePrompts(3, in: dir), "-o", job.path, "--models-dir", models, "--model", "base40M-uncond",
                                  "--no-upsample", "--steps", "2", "--mesh-formats", "glb", "--mesh-grid", "8", "--quiet"], log: dir + "/run.log")
        XCTAssertEqual(made.status, 0, made.output)
        let address = try freeAddress()
        let remesh = try start(["remesh", job.path, "--grid", "10", "--meshers", "0", "--bind", address], log: dir + "/remesh.log")
        let mesher = try start(["mesher", "--connect", address, "--models-dir", models, "--name", "mesher@remote"], log: dir + "/mesher.log")
        XCTAssertEqual(try remesh.wait(timeout: 240), 0, remesh.output)
        XCTAssertEqual(try mesher.wait(timeout: 60), 0, "the remote mesher did not end with the remesh: \(mesher.output)")
        XCTAssertTrue(remesh.output.contains("remesh 1 (grid 10, glb): 3 prompt(s) remeshed"), remesh.output)
        try assertComplete(job, prompts: 3)
        for (id, line) in try manifest(job) { XCTAssertEqual(files(line)["mesh_glb"], "meshes/\(id).r1.glb") }
        print("remesh with a remote mesher: 3 prompts remeshed over \(address)")
    }

    func testRemeshRefusesAJobWithPromptsStillToSample() throws {
        let dir = ClusterTestSupport.temporaryDirectory("remesh-unsampled")
        let job = JobDirectory(dir + "/job")
        var settings = JobSettings()
        settings.meshFormats = [.glb]
        _ = try Coordinator.createJob(at: job, prompts: ClusterTestSupport.textPrompts(3), settings: settings, promptFile: "prompts.txt")
        XCTAssertThrowsError(try JobRemesh.prepare(job, formats: [.ply], grid: 16)) { error in
            XCTAssertTrue("\(error)".contains("3 prompt(s) are not sampled yet"), "\(error)")
        }
        XCTAssertEqual(try JobStore(path: job.store).meshGeneration(), 0, "a refused remesh changed the job")
    }
}
