import Foundation
import PointECloud
import PointECheckpoint

/// Point clouds to evaluate, read from what users and jobs have on disk:
/// * a batch `.npz` in the layout the reference's evaluation scripts read (`arr_0`
///   [clouds, points, 3+] float; channels past xyz are ignored),
/// * a single cloud `.npz` (`coords`, as `PointCloud` writes it) or `.ply`,
/// * a directory of such files (sorted by name; a cloud saved as both NAME.npz and NAME.ply counts once),
/// * a job directory: the finished prompts of its `manifest.jsonl`, in prompt order (each
///   prompt's `cloud_npz` file, else its `cloud_ply`).
public enum CloudInputs {
    public struct Loaded: Sendable {
        /// Point-major xyz per cloud.
        public var clouds: [[Float]]
        /// Where each cloud came from ("file" or "file[index]").
        public var names: [String]
    }

    public static func load(_ path: String) throws -> Loaded {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw EvalError("\(path): no such file or directory")
        }
        if !isDirectory.boolValue { return try loadFile(path) }
        let directory = URL(fileURLWithPath: path)
        let manifest = directory.appendingPathComponent("manifest.jsonl")
        let files: [String]
        if FileManager.default.fileExists(atPath: manifest.path) {
            files = try jobClouds(manifest: manifest.path).map { directory.appendingPathComponent($0).path }
            guard !files.isEmpty else { throw EvalError("\(manifest.path): no finished prompt with a point cloud") }
        } else {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            let npzStems = Set(names.filter { $0.hasSuffix(".npz") }.map { String($0.dropLast(4)) })
            files = names.filter { $0.hasSuffix(".npz") || ($0.hasSuffix(".ply") && !npzStems.contains(String($0.dropLast(4)))) }
                .sorted().map { directory.appendingPathComponent($0).path }
            guard !files.isEmpty else { throw EvalError("\(directory.path): no .npz or .ply point clouds in this directory") }
        }
        var result = Loaded(clouds: [], names: [])
        for file in files {
            let loaded = try loadFile(file)
            result.clouds += loaded.clouds
            result.names += loaded.names
        }
        return result
    }

    /// Cloud files (relative to the job directory) of a job manifest's finished prompts, by prompt index.
    static func jobClouds(manifest path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var found: [(index: Int, file: String)] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw EvalError("\(path): line \(number + 1) is not a JSON object")
            }
            guard object["status"] as? String == "done" else { continue }
            let files = object["files"] as? [String: Any] ?? [:]
            guard let entry = (files["cloud_npz"] ?? files["cloud_ply"]) as? [String: Any], let file = entry["path"] as? String else {
                throw EvalError("\(path): line \(number + 1) is a finished prompt without a cloud_npz or cloud_ply file")
            }
            found.append((object["index"] as? Int ?? number, file))
        }
        return found.sorted { $0.index < $1.index }.map(\.file)
    }

    static func loadFile(_ path: String) throws -> Loaded {
        if path.hasSuffix(".ply") {
            return Loaded(clouds: [try PointCloud.readPLY(path).coords], names: [path])
        }
        let arrays = try CheckpointLoader.load(path)
        guard let batch = arrays["arr_0"] else {
            guard arrays["coords"] != nil else {
                throw EvalError("\(path): neither a batch (arr_0) nor a point cloud (coords); arrays: \(arrays.keys.joined(separator: ", "))")
            }
            return Loaded(clouds: [try PointCloud.readNPZ(path).coords], names: [path])
        }
        guard batch.shape.count == 3, batch.shape[2] >= 3, batch.dtype.isFloatingPoint else {
            throw EvalError("\(path): arr_0 must be [clouds, points, 3+] floats, found \(batch.dtype.rawValue) \(batch.shape)")
        }
        let values = try batch.floatTensor()
        let count = batch.shape[0], n = batch.shape[1], channels = batch.shape[2]
        var clouds: [[Float]] = []
        for i in 0..<count {
            var xyz = [Float](repeating: 0, count: n * 3)
            for j in 0..<n { for c in 0..<3 { xyz[j * 3 + c] = values.pointer[(i * n + j) * channels + c] } }
            clouds.append(xyz)
        }
        return Loaded(clouds: clouds, names: (0..<count).map { "\(path)[\($0)]" })
    }
}
