import Foundation
import PointECheckpoint
import PointETensor

/// `.npz` in the layout of the reference's `PointCloud.save` / `load`: an array `coords` [N, 3]
/// and one [N] array per channel, named by the channel, all float32.
extension PointCloud {
    public func writeNPZ(to path: String) throws {
        try NpzWriter.write(try npzArrays(source: path), to: path)
    }

    /// The .npz file's bytes, in memory.
    public func npzData(source: String) throws -> Data {
        try NpzWriter.data(try npzArrays(source: source), source: source)
    }

    func npzArrays(source: String) throws -> [(String, Tensor)] {
        var arrays: [(String, Tensor)] = [("coords", Tensor(shape: [count, 3], values: coords))]
        for c in channels {
            guard c.name != "coords" else { throw PointCloudFileError(source, "a channel may not be named \"coords\"") }
            arrays.append((c.name, Tensor(shape: [count], values: c.values)))
        }
        return arrays
    }

    /// Reads `coords` and every other array as a channel (in archive order); float64/float16
    /// arrays are converted to float32.
    public static func readNPZ(_ path: String) throws -> PointCloud {
        let arrays: StateDict
        do { arrays = try NumpyReader.loadNpz(path) } catch let error as CheckpointError {
            throw PointCloudFileError(path, "not a readable .npz point cloud: \(error.message)")
        }
        guard let coordsArray = arrays["coords"] else {
            throw PointCloudFileError(path, "no \"coords\" array (found: \(arrays.keys.joined(separator: ", ")))")
        }
        guard coordsArray.shape.count == 2, coordsArray.shape[1] == 3 else {
            throw PointCloudFileError(path, "\"coords\" must be [N, 3], got \(coordsArray.shape)")
        }
        let n = coordsArray.shape[0]
        let coords = try floats(coordsArray, path: path)
        var channels: [Channel] = []
        for key in arrays.keys where key != "coords" {
            let array = arrays[key]!
            guard array.shape == [n] else {
                throw PointCloudFileError(path, "channel \"\(key)\" must be [\(n)] like coords, got \(array.shape)")
            }
            channels.append(Channel(name: key, values: try floats(array, path: path)))
        }
        return PointCloud(coords: coords, channels: channels)
    }

    private static func floats(_ array: CheckpointTensor, path: String) throws -> [Float] {
        guard array.dtype.isFloatingPoint else {
            throw PointCloudFileError(path, "array \"\(array.name)\" has dtype \(array.dtype.rawValue), expected floating point")
        }
        return try array.floatTensor().values
    }
}
