import Foundation
import PointETensor

/// Points on a surface with per-point attributes, like the reference's `PointCloud`: coordinates
/// [N, 3] and named channels of N values each (colours "R", "G", "B" in 0...1).
public struct PointCloud: Sendable, Equatable {
    /// Row-major [N, 3]: x0, y0, z0, x1, ...
    public var coords: [Float]
    /// Channels in order (the order they are written in).
    public var channels: [Channel]

    public struct Channel: Sendable, Equatable {
        public var name: String
        public var values: [Float]
        public init(name: String, values: [Float]) {
            self.name = name
            self.values = values
        }
    }

    /// Channel names treated as colours (the reference's COLORS).
    public static let colorChannels: Set<String> = ["R", "G", "B", "A"]

    public var count: Int { coords.count / 3 }

    public init(coords: [Float], channels: [Channel] = []) {
        precondition(coords.count % 3 == 0, "coords must hold N x 3 values, got \(coords.count)")
        for c in channels {
            precondition(c.values.count == coords.count / 3, "channel \(c.name) has \(c.values.count) values for \(coords.count / 3) points")
        }
        self.coords = coords
        self.channels = channels
    }

    public func channel(_ name: String) -> [Float]? { channels.first { $0.name == name }?.values }

    /// Sample `index` of a sampler output [B, 3 + aux, N] in data units: xyz as they are, colour
    /// channels clamped to 0...255, rounded half to even and scaled to 0...1 (the reference's
    /// `output_to_point_clouds`), other channels as they are.
    public init(samplerOutput output: Tensor, index: Int, auxChannels: [String] = ["R", "G", "B"]) {
        precondition(output.rank == 3 && output.shape[1] == 3 + auxChannels.count && index < output.shape[0],
                     "sampler output \(output.shape) does not hold sample \(index) with xyz + \(auxChannels)")
        let (c, n) = (output.shape[1], output.shape[2])
        let base = output.pointer + index * c * n
        var coords = [Float](repeating: 0, count: n * 3)
        for axis in 0..<3 {
            for i in 0..<n { coords[i * 3 + axis] = base[axis * n + i] }
        }
        let channels = auxChannels.enumerated().map { offset, name -> Channel in
            let row = base + (3 + offset) * n
            let values = (0..<n).map { i -> Float in
                guard Self.colorChannels.contains(name) else { return row[i] }
                return min(max(row[i], 0), 255).rounded(.toNearestOrEven) / 255
            }
            return Channel(name: name, values: values)
        }
        self.init(coords: coords, channels: channels)
    }

    /// Every sample of a sampler output.
    public static func fromSamplerOutput(_ output: Tensor, auxChannels: [String] = ["R", "G", "B"]) -> [PointCloud] {
        (0..<output.shape[0]).map { PointCloud(samplerOutput: output, index: $0, auxChannels: auxChannels) }
    }
}
