import Foundation
@testable import PointECluster
@testable import PointEClusterBase
@testable import PointEJob
@testable import PointEWire
import PointETestSupport
import XCTest

/// A job directory remembers what it was made from: the same command resumes it, anything
/// different is refused with what differs, a grown prompt file is added only when asked, and
/// whatever can be checked before sampling is checked before anything is created.
final class JobInputsTests: ProcessTestCase {
    func run(_ arguments: [String], log: String) throws -> (status: Int32?, output: String) {
        let child = try start(["run"] + arguments, log: log)
        try waitFor("pointe run to end", timeout: 120) { !child.isRunning }
        return (child.exitStatus, child.output)
    }

    func jobArguments(_ prompts: String, _ directory: JobDirectory) -> [String] {
        [prompts, "-o", directory.path, "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond", "--no-upsample",
         "--steps", "2", "--upsample-steps", "3", "--shard-size", "2", "--workers", "1", "--mesh-formats", "none"]
    }

    func testChangedSettingsAreRefusedWithTheirDifferences() throws {
        let dir = ClusterTestSupport.temporaryDirectory("inputs-changed")
        let prompts = try writePrompts(4, in: dir)
        let directory = JobDirectory(dir + "/job")
        let first = try run(jobArguments(prompts, directory), log: dir + "/first.log")
        XCTAssertEqual(first.status, 0, first.output)
        let manifest = try String(contentsOfFile: directory.manifestLines, encoding: .utf8)

        // The same command, and the same without the options: both resume the finished job.
        for (k, arguments) in [jobArguments(prompts, directory), ["-o", directory.path, "--models-dir", ClusterTestSupport.modelsDirectory, "--mesh-formats", "none"]].enumerated() {
            let again = try run(arguments, log: dir + "/again\(k).log")
            XCTAssertEqual(again.status, 0, again.output)
            XCTAssertTrue(again.output.contains("4/4 prompts done"), again.output)
        }

        let changed = try run(jobArguments(prompts, directory) + ["--steps", "8", "--upsample-steps", "5", "--seed", "7", "--mesh-formats", "glb", "--mesh-grid", "32"],
                              log: dir + "/changed.log")
        XCTAssertEqual(changed.status, 1, changed.output)
        for line in ["--steps 8 (the job has 2)", "--upsample-steps 5 (the job has 3)", "--seed 7 (the job has 0)", "--mesh-formats glb (the job has none)",
                     "--mesh-grid 32 (the job has 128)"] {
            XCTAssertTrue(changed.output.contains(line), "\(line) not listed:\n\(changed.output)")
        }
        XCTAssertFalse(changed.output.contains("USAGE"), changed.output)
        XCTAssertEqual(try String(contentsOfFile: directory.manifestLines, encoding: .utf8), manifest, "a refused run changed the job")

        // Another prompt list of the same length: refused, naming the line that differs.
        try "object number 0\nsomething else\nobject number 2\nobject number 3\n".write(toFile: dir + "/other.txt", atomically: true, encoding: .utf8)
        let other = try run(jobArguments(dir + "/other.txt", directory), log: dir + "/other.log")
        XCTAssertEqual(other.status, 1, other.output)
        XCTAssertTrue(other.output.contains("line 2 (prompt p00001): text \"object number 1\" -> text \"something else\""), other.output)
    }

    func testALongerPromptFileIsRefusedThenAddedWithoutRerunningFinishedPrompts() throws {
        let dir = ClusterTestSupport.temporaryDirectory("inputs-grown")
        let prompts = try writePrompts(4, in: dir)
        let directory = JobDirectory(dir + "/job")
        XCTAssertEqual(try run(jobArguments(prompts, directory), log: dir + "/first.log").status, 0)
        let before = try ClusterTestSupport.verifiedChecksums(directory)
        let attemptsBefore = try JobStore(path: directory.store).attempts().count

        _ = try writePrompts(12, in: dir)  // the same file, grown to 12 lines
        let refused = try run(jobArguments(prompts, directory), log: dir + "/refused.log")
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("has 8 prompt(s) more than the job") && refused.output.contains("--add-prompts"), refused.output)
        XCTAssertEqual(try JobStore(path: directory.store).counts().total, 4, "a refused run added prompts")

        let added = try run(jobArguments(prompts, directory) + ["--add-prompts"], log: dir + "/added.log")
        XCTAssertEqual(added.status, 0, added.output)
        XCTAssertTrue(added.output.contains("12/12 prompts done"), added.output)
        XCTAssertTrue(added.output.contains("resuming \(directory.path): 8 of 12 prompts to go (4 done, 0 failed)"), added.output)
        try assertComplete(directory, prompts: 12)
        let after = try ClusterTestSupport.verifiedChecksums(directory)
        for (id, files) in before { XCTAssertEqual(after[id], files, "\(id) changed although it was finished") }
        let store = try JobStore(path: directory.store)
        XCTAssertEqual(try store.attempts().count, attemptsBefore + 4, "finished shards ran again (or new ones did not run)")
        // The new prompts are seeded as if the list had always been 12 long.
        XCTAssertEqual(try store.prompts().map(\.seed), (0..<12).map { PromptSeed.derive(jobSeed: 0, index: $0) })
        print("prompt file grown 4 -> 12: refused, then 8 added; the 4 finished prompts kept their files")
    }

    /// After --add-prompts from another file, that file is the job's prompt file: manifest.json
    /// names it, and a run with the old (shorter) file is refused naming the file the job's
    /// list now comes from.
    func testAddedPromptsRecordTheirFile() throws {
        let dir = ClusterTestSupport.temporaryDirectory("inputs-added-file")
        let prompts = try writePrompts(4, in: dir)
        let longer = dir + "/longer.txt"
        try (0..<8).map { "object number \($0)" }.joined(separator: "\n").write(toFile: longer, atomically: true, encoding: .utf8)
        let directory = JobDirectory(dir + "/job")
        XCTAssertEqual(try run(jobArguments(prompts, directory), log: dir + "/first.log").status, 0)
        let added = try run(jobArguments(longer, directory) + ["--add-prompts"], log: dir + "/added.log")
        XCTAssertEqual(added.status, 0, added.output)
        XCTAssertTrue(added.output.contains("8/8 prompts done"), added.output)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory.manifest))) as? [String: Any])
        XCTAssertEqual(summary["prompt_file"] as? String, longer, "manifest.json names the file the job was first made from")

        let shorter = try run(jobArguments(prompts, directory), log: dir + "/shorter.log")
        XCTAssertEqual(shorter.status, 1, shorter.output)
        XCTAssertTrue(shorter.output.contains("\(prompts) is not the prompt list of the job in \(directory.path) (last given as \(longer))"), shorter.output)
        XCTAssertTrue(shorter.output.contains("the file has 4 prompt(s), the job 8"), shorter.output)
        // The longer file resumes it.
        let again = try run(jobArguments(longer, directory), log: dir + "/again.log")
        XCTAssertEqual(again.status, 0, again.output)
    }

    /// `pointe run` as this environment runs it: the model cache ($POINTE_HOME) an empty
    /// directory, so only the job's own record can find the models.
    func runWithEmptyCache(_ arguments: [String], cache: String, log: String) throws -> (status: Int32?, output: String) {
        let child = try Subprocess("/usr/bin/env", ["POINTE_HOME=\(cache)", try BuiltTool.pointe()] + arguments, outputPath: log)
        adopt(child)
        try waitFor("pointe \(arguments.first ?? "") to end", timeout: 180) { !child.isRunning }
        return (child.exitStatus, child.output)
    }

    /// A job made with --models-dir remembers it: `pointe run -o DIR` alone resumes it (and
    /// `pointe remesh DIR` meshes with it); a job already complete says so and starts no peer;
    /// a models directory moved away is named, with what to do; a --models-dir given replaces
    /// the record.
    func testAJobRemembersItsModelsDirectory() throws {
        let dir = ClusterTestSupport.temporaryDirectory("inputs-models-dir")
        let models = dir + "/models", moved = dir + "/moved-models", cache = dir + "/empty-cache"
        try FileManager.default.copyItem(atPath: ClusterTestSupport.modelsDirectory, toPath: models)
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let prompts = try writePrompts(4, in: dir)
        let directory = JobDirectory(dir + "/job")
        let made = try runWithEmptyCache(["run", prompts, "-o", directory.path, "--models-dir", models, "--model", "base40M-uncond", "--no-upsample",
                                          "--steps", "2", "--shard-size", "2", "--workers", "1", "--mesh-formats", "glb", "--mesh-grid", "8"],
                                         cache: cache, log: dir + "/made.log")
        XCTAssertEqual(made.status, 0, made.output)
        try assertComplete(directory, prompts: 4)

        // Complete: said so, exit 0, and no worker or mesher was started to fail on anything.
        let complete = try runWithEmptyCache(["run", "-o", directory.path], cache: cache, log: dir + "/complete.log")
        XCTAssertEqual(complete.status, 0, complete.output)
        XCTAssertTrue(complete.output.contains("the job is already complete"), complete.output)
        XCTAssertTrue(complete.output.contains("4/4 prompts done"), complete.output)
        XCTAssertFalse(complete.output.lowercased().contains("error"), complete.output)

        // A prompt whose cloud went missing runs again, with the models the job recorded.
        func loseCloud(_ id: String) throws { try FileManager.default.removeItem(atPath: directory.file("clouds/\(id).npz")) }
        try loseCloud("p00001")
        let resumed = try runWithEmptyCache(["run", "-o", directory.path], cache: cache, log: dir + "/resumed.log")
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("4/4 prompts done"), resumed.output)
        try assertComplete(directory, prompts: 4)

        // The models moved: the error names where the job had them, and what to do.
        try FileManager.default.moveItem(atPath: models, toPath: moved)
        try loseCloud("p00002")
        let gone = try runWithEmptyCache(["run", "-o", directory.path], cache: cache, log: dir + "/gone.log")
        XCTAssertEqual(gone.status, 1, gone.output)
        XCTAssertTrue(gone.output.contains("was run with the models in \(models), which is not there any more") && gone.output.contains("pass --models-dir DIR"),
                      gone.output)
        let given = try runWithEmptyCache(["run", "-o", directory.path, "--models-dir", moved], cache: cache, log: dir + "/given.log")
        XCTAssertEqual(given.status, 0, given.output)
        XCTAssertTrue(given.output.contains("the job was run with \(models) before and now remembers \(moved)"), given.output)
        try assertComplete(directory, prompts: 4)

        // From now on the new place is the job's: a resume and a remesh need no --models-dir.
        try loseCloud("p00003")
        let after = try runWithEmptyCache(["run", "-o", directory.path], cache: cache, log: dir + "/after.log")
        XCTAssertEqual(after.status, 0, after.output)
        try assertComplete(directory, prompts: 4)
        let remeshed = try runWithEmptyCache(["remesh", directory.path, "--grid", "10"], cache: cache, log: dir + "/remesh.log")
        XCTAssertEqual(remeshed.status, 0, remeshed.output)
        XCTAssertTrue(remeshed.output.contains("4 prompt(s) remeshed"), remeshed.output)
        print("models directory: recorded at creation, used by `pointe run -o` and `pointe remesh` alone, named when moved, replaced by --models-dir")
    }

    /// What cannot work is found when the job is made, and nothing is created: a typo'd sampler
    /// (the option, or a line's), a model that cannot take the prompt, missing models.
    func testChecksBeforeCreationLeaveNothingBehind() throws {
        let dir = ClusterTestSupport.temporaryDirectory("inputs-checks")
        let directory = JobDirectory(dir + "/job")
        let plain = try writePrompts(2, in: dir)
        let typo = try run(jobArguments(plain, directory) + ["--sampler", "huen"], log: dir + "/typo.log")
        XCTAssertNotEqual(typo.status, 0, typo.output)
        XCTAssertTrue(typo.output.contains("huen"), typo.output)

        let jsonl = dir + "/prompts.jsonl"
        try [#"{"prompt": "a chair"}"#, #"{"prompt": "a car", "sampler": "huen"}"#, #"{"prompt": "a cup", "model": "base40M"}"#]
            .joined(separator: "\n").write(toFile: jsonl, atomically: true, encoding: .utf8)
        let lines = try run(jobArguments(jsonl, directory), log: dir + "/lines.log")
        XCTAssertEqual(lines.status, 1, lines.output)
        XCTAssertTrue(lines.output.contains("line 2: \"sampler\": unknown sampler \"huen\""), lines.output)
        XCTAssertTrue(lines.output.contains("line 3: text a cup: base40M is conditioned on images, not text"), lines.output)

        // The default text model (base40M-textvec) needs CLIP, which this directory lacks.
        let models = dir + "/models"
        try FileManager.default.createDirectory(atPath: models, withIntermediateDirectories: true)
        for file in ["base40M-textvec.json", "base40M-textvec.safetensors"] {
            try FileManager.default.copyItem(atPath: ClusterTestSupport.modelsDirectory + "/" + file, toPath: models + "/" + file)
        }
        let missing = try run([plain, "-o", directory.path, "--models-dir", models, "--no-upsample", "--steps", "2", "--mesh-formats", "none"], log: dir + "/missing.log")
        XCTAssertEqual(missing.status, 1, missing.output)
        XCTAssertTrue(missing.output.contains("missing CLIP") && missing.output.contains("pointe models download ViT-L/14"), missing.output)
        // Numbers no run can work with are refused before anything is made (no worker could
        // ever join a run without local workers on its private socket).
        let noWorkers = try run(jobArguments(plain, directory) + ["--workers", "0"], log: dir + "/no-workers.log")
        XCTAssertNotEqual(noWorkers.status, 0, noWorkers.output)
        XCTAssertTrue(noWorkers.output.contains("--workers 0") && noWorkers.output.contains("--bind"), noWorkers.output)
        let noBatch = try run(jobArguments(plain, directory) + ["--batch", "0"], log: dir + "/no-batch.log")
        XCTAssertNotEqual(noBatch.status, 0, noBatch.output)
        XCTAssertTrue(noBatch.output.contains("--batch must be 1 to 256, got 0"), noBatch.output)
        for result in [typo, lines, missing] { XCTAssertFalse(result.output.contains("USAGE") && result.status == 1, result.output) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path), "a refused job left its directory behind")
    }

    /// `--eval` finds a missing PointNet++ before sampling (it used to after the whole job), and
    /// its advice works offline: `init-random --only pointnet` makes one `pointe eval` loads.
    func testEvalNeedsItsPointNetBeforeSamplingAndInitRandomMakesOne() throws {
        let dir = ClusterTestSupport.temporaryDirectory("inputs-eval")
        let directory = JobDirectory(dir + "/job")
        let plain = try writePrompts(2, in: dir)
        let reference = Fixtures.path("pc_corgi.npz")
        let refused = try run(jobArguments(plain, directory) + ["--eval", reference], log: dir + "/eval.log")
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("--eval") && refused.output.contains("pointnet") && refused.output.contains("init-random"), refused.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path), "a refused --eval run made its job directory")

        let models = dir + "/models"
        let made = try Subprocess.run(try BuiltTool.pointe(), ["models", "init-random", "--only", "pointnet", models], timeout: 120)
        XCTAssertEqual(made.status, 0, made.output)
        let pis = try Subprocess.run(try BuiltTool.pointe(), ["eval", "pis", reference, "--pointnet", models + "/pointnet.safetensors"], timeout: 600)
        XCTAssertEqual(pis.status, 0, pis.output)
        XCTAssertTrue(pis.output.contains("P-IS "), pis.output)
    }
}
