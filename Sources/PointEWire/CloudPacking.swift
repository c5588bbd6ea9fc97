import Foundation
import PointECloud
import PointEMesh
import PointEClusterBase

/// Point clouds on the wire: coordinates and RGB colours as packed little-endian float32.
public enum CloudPacking {
    public static func pack(_ cloud: PointCloud) -> (count: UInt32, coords: Data, colors: Data) {
        let rgb = ["R", "G", "B"].map { cloud.channel($0) ?? [Float](repeating: 0, count: cloud.count) }
        var colors = [Float](repeating: 0, count: cloud.count * 3)
        for i in 0..<cloud.count { for k in 0..<3 { colors[i * 3 + k] = rgb[k][i] } }
        return (UInt32(cloud.count), floats(cloud.coords), floats(colors))
    }

    /// The cloud a peer sent, if it is one: a point count within `limits`, byte lengths that
    /// match it, finite coordinates within the bound and colours in 0...1. `source` names the
    /// message (prompt and peer) in the error.
    public static func unpack(count: UInt32, coords: Data, colors: Data, source: String,
                              limits: PayloadLimits = PayloadLimits()) throws -> PointCloud {
        let n = Int(count)
        guard n >= 1, n <= limits.maxPoints else { throw ClusterError("\(source): \(n) points (expected 1...\(limits.maxPoints))") }
        guard coords.count == n * 12 else { throw ClusterError("\(source): coords hold \(coords.count) bytes for \(n) points (expected \(n * 12))") }
        guard colors.count == n * 12 else { throw ClusterError("\(source): colors hold \(colors.count) bytes for \(n) points (expected \(n * 12))") }
        let xyz = decode(coords), rgb = decode(colors)
        guard xyz.allSatisfy(\.isFinite), rgb.allSatisfy(\.isFinite) else { throw ClusterError("\(source): the cloud has non-finite values") }
        if let bad = xyz.firstIndex(where: { abs($0) > limits.coordinateBound }) {
            throw ClusterError("\(source): point \(bad / 3) has coordinate \(xyz[bad]), out of range (|x| <= \(limits.coordinateBound))")
        }
        if let bad = rgb.firstIndex(where: { $0 < 0 || $0 > 1 }) {
            throw ClusterError("\(source): point \(bad / 3) has colour \(rgb[bad]), out of range (0...1)")
        }
        let channels = ["R", "G", "B"].enumerated().map { k, name in
            PointCloud.Channel(name: name, values: (0..<n).map { rgb[$0 * 3 + k] })
        }
        return PointCloud(coords: xyz, channels: channels)
    }

    static func floats(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        return data
    }

    static func decode(_ data: Data) -> [Float] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}

extension Pointe_Cluster_CloudResult {
    /// A worker's result message for one prompt of a shard attempt, with the cloud packed.
    package init(promptID: String, shardID: UInt64, attempt: UInt32, cloud: PointCloud) {
        self.init()
        let packed = CloudPacking.pack(cloud)
        self.shardID = shardID
        self.attempt = attempt
        self.promptID = promptID
        pointCount = packed.count
        coords = packed.coords
        colors = packed.colors
    }
}
