import Foundation
import PointECheckpoint
import PointEModels

/// What a models directory holds of the released files, as `ModelDirectory` resolves them
/// (so `pointe models list/verify` see exactly the files every other command would load:
/// the released checkpoints and the offline NAME.safetensors + NAME.json form alike).
public struct ModelInventory {
    public let directory: ModelDirectory

    public init(_ directory: ModelDirectory) { self.directory = directory }

    public struct Entry: Sendable {
        public let file: ReleasedFile
        /// The files it would be loaded from (empty: not here).
        public let files: [String]
        public var bytes: Int {
            files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        }

        /// Where the weights came from, as far as the files say: "random (tiny)" for those
        /// `pointe models init-random` wrote (it names itself in the safetensors metadata), the
        /// demo set's trained networks (scripts/train tags them "pointe.preset": "demo"), a
        /// released checkpoint, or another safetensors conversion; "missing" when absent.
        public var origin: String {
            guard let weights = files.first else { return "missing" }
            guard weights.hasSuffix(".safetensors") else { return "released checkpoint" }
            guard let metadata = try? SafetensorsReader.load(weights).metadata, metadata["pointe.model"] != nil else { return "converted" }
            if metadata["pointe.preset"] == DemoModelSet.preset { return "trained demo set (procedural shapes)" }
            return "random weights" + (metadata["pointe.preset"].map { " (\($0))" } ?? "")
        }
    }

    public var entries: [Entry] {
        ReleasedFiles.all.map { file in Entry(file: file, files: (try? files(of: file)) ?? []) }
    }

    func files(of file: ReleasedFile) throws -> [String] {
        switch file.kind {
        case .pointE(let model):
            let location = try directory.locate(model)
            return [location.weights] + (location.configFile.map { [$0] } ?? [])
        case .pointNet:
            return [try directory.pointNetFile()]
        case .clip:
            // The engine loads ViT-L/14 (released archive or our clip.* form); other CLIPs only as cached.
            if file.name == ModelDirectory.clipName {
                let (weights, config) = try directory.locateCLIP()
                return [weights] + (config.map { [$0] } ?? [])
            }
            let path = directory.file(file.fileName)
            return FileManager.default.fileExists(atPath: path) ? [path] : []
        }
    }

    /// Checks one present entry: the published SHA-256 when the file is the published one, and a
    /// strict load through the same loader the engine uses. Returns what was checked.
    public func verify(_ entry: Entry) throws -> String {
        guard let weights = entry.files.first else { throw EngineError("\(entry.file.name) is not in \(directory.path)") }
        var checked: [String] = []
        if let expected = entry.file.sha256, (weights as NSString).lastPathComponent == entry.file.fileName {
            let actual = try SHA256.hexDigest(ofFile: weights)
            guard actual == expected else { throw EngineError("\(weights): SHA-256 \(actual), published \(expected)") }
            checked.append("SHA-256")
        }
        switch entry.file.kind {
        case .pointE(let model):
            if model == .sdf { _ = try directory.sdfModel() } else { _ = try directory.diffusionNetwork(model) }
        case .pointNet:
            _ = try PointNetClassifier.load(checkpoint: weights)
        case .clip where entry.file.name == ModelDirectory.clipName:
            _ = try directory.clipModel()
        case .clip:
            _ = try CLIPModel.load(checkpoint: weights)  // another published CLIP, only ever cached
        }
        checked.append("strict load of \(entry.files.map { ($0 as NSString).lastPathComponent }.joined(separator: " + "))")
        return checked.joined(separator: ", ")
    }
}
