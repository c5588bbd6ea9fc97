import Foundation
import PointEDiffusion
import PointEEval
import PointEImage
import PointEMesh
import PointEModels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The kinds of reference fixture `pointe parity` checks, each recognised from its NAME.json.
public enum ParityFixtureKind: String, Sendable, CaseIterable {
    /// "case": "sampler_*": a recorded PointCloudSampler run (SamplerParity).
    case sampler = "sampler replay"
    /// "name": "get_model": the P-FID / P-IS PointNet++ and the metrics (PointNetParity).
    case pointnet = "PointNet++ / P-FID / P-IS"
    /// NAME.npz next to a JSON mentioning marching_cubes (MarchingCubesParity).
    case marchingCubes = "marching cubes"
    /// "transform" and "images": CLIP image preprocessing (PreprocessParity).
    case preprocess = "CLIP preprocessing"
    /// "schedules" and "karras": beta schedules, Karras sigmas, sigma -> t (ScheduleParity).
    case schedules = "diffusion schedules"
    /// "function": "clip.tokenize(...)" with "cases" (CLIPParity.runTokenizer).
    case clipTokenizer = "CLIP tokenizer"
    /// "name": "CLIP" (CLIPParity.runModel).
    case clipModel = "CLIP model"
    /// "name" one of the point-e network classes (ParityCheck).
    case network = "network"

    /// Whether the fixture at `path` (without extension) is of this kind.
    public func matches(_ path: String) -> Bool {
        switch self {
        case .sampler: return SamplerFixture.isSamplerFixture(path)
        case .pointnet: return PointNetParity.isPointNetFixture(path)
        case .marchingCubes: return MarchingCubesParity.isFixture(path)
        case .preprocess: return PreprocessParity.isFixture(path)
        case .schedules: return ScheduleParity.isFixture(path)
        case .clipTokenizer: return CLIPParity.isTokenizerFixture(path)
        case .clipModel: return CLIPParity.isModelFixture(path)
        case .network:
            guard let name = try? JSONValue.load(path + ".json")["name"]?.stringValue else { return false }
            return ModelConfig.knownClasses.contains(name)
        }
    }

    /// The kind of the fixture at `path` (without extension), or nil when it is none of them.
    public static func detect(_ path: String) -> ParityFixtureKind? {
        allCases.first { $0.matches(path) }
    }
}

public struct ParityArgumentError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Turns `pointe parity`'s arguments into fixture paths (without extension).
///
/// * a directory: every fixture in it, i.e. every NAME.json (the tokenizer's NAME.io.json is
///   the fixture NAME.io), sorted by name; other files (README.txt, the vocabulary .gz,
///   images, the .pt / .npz / .io.safetensors companions) are not fixtures and are skipped;
/// * a glob pattern the shell did not expand (e.g. quoted 'DIR/sampler_*'): the NAME.json
///   files it matches (and the fixtures of the directories it matches), sorted;
/// * anything else names one fixture: NAME, NAME.json, or one of NAME's companion files
///   (NAME.pt, NAME.jit.pt, NAME.io.safetensors, NAME.u8.npz, ...) whose NAME.json exists.
///   It is kept even when it is not a fixture, so the check reports it as an error.
///
/// Paths are listed once, in argument order. A directory without fixtures or a pattern that
/// matches none is an error.
public enum ParityFixtures {
    public static func expand(_ arguments: [String]) throws -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        func add(_ path: String) { if seen.insert(path).inserted { out.append(path) } }
        for argument in arguments {
            if isDirectory(argument) {
                let found = try fixtures(inDirectory: argument)
                guard !found.isEmpty else { throw ParityArgumentError("\(argument): no fixtures (NAME.json) in this directory") }
                found.forEach(add)
            } else if argument.hasSuffix("/") {
                throw ParityArgumentError("\(argument): no such directory")
            } else if !FileManager.default.fileExists(atPath: argument), argument.contains(where: { "*?[".contains($0) }) {
                let matches = glob(argument)
                var found: [String] = []
                for match in matches {
                    if isDirectory(match) { found += try fixtures(inDirectory: match) } else if match.hasSuffix(".json") {
                        found.append(String(match.dropLast(".json".count)))
                    }
                }
                guard !found.isEmpty else { throw ParityArgumentError("\(argument): matches no fixtures (NAME.json)") }
                found.forEach(add)
            } else {
                add(fixturePath(forArgument: argument))
            }
        }
        return out
    }

    /// Every NAME.json in `directory` as DIRECTORY/NAME, sorted by name (hidden files skipped).
    public static func fixtures(inDirectory directory: String) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw ParityArgumentError("\(directory): cannot list the directory: \(error.localizedDescription)")
        }
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .filter { !isDirectory(join(directory, $0)) }
            .map { String($0.dropLast(".json".count)) }
            .sorted()
            .map { join(directory, $0) }
    }

    /// One fixture argument -> its path without extension: NAME.json -> NAME; an existing
    /// companion file -> the longest NAME (cut at a dot) whose NAME.json exists; otherwise the
    /// known companion extensions are dropped (NAME without extension stays as it is).
    public static func fixturePath(forArgument argument: String) -> String {
        if argument.hasSuffix(".json") { return String(argument.dropLast(".json".count)) }
        let directory = (argument as NSString).deletingLastPathComponent
        let file = (argument as NSString).lastPathComponent
        if FileManager.default.fileExists(atPath: argument) {
            var dots = file.indices.filter { file[$0] == "." && $0 != file.startIndex }
            dots.reverse()
            for dot in dots {
                let stem = directory.isEmpty ? String(file[..<dot]) : join(directory, String(file[..<dot]))
                if FileManager.default.fileExists(atPath: stem + ".json") { return stem }
            }
        }
        for ext in [".io.safetensors", ".jit.pt", ".pt", ".u8.npz", ".npz"] where argument.hasSuffix(ext) {
            return String(argument.dropLast(ext.count))
        }
        return argument
    }

    static func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// glob(3) matches of `pattern`, sorted; none when it matches nothing.
    static func glob(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        #if canImport(Glibc)
        let rc = Glibc.glob(pattern, 0, nil, &matches)
        #else
        let rc = Darwin.glob(pattern, 0, nil, &matches)
        #endif
        guard rc == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
