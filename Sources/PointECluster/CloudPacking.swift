import Foundation
import PointEMesh

/// Point clouds on the wire: coordinates and RGB colours as packed little-endian float32.
public enum CloudPacking {
    public static func pack(_ cloud: PointCloud) -> (count: UInt32, coords: Data, colors: Data) {
        let rgb = ["R", "G", "B"].map { cloud.channel($0) ?? [Float](repeating: 0, count: cloud.count) }
        var colors = [Float](repeating: 0, count: cloud.count * 3)
        for i in 0..<cloud.count { for k in 0..<3 { colors[i * 3 + k] = rgb[k][i] } }
        return (UInt32(cloud.count), floats(cloud.coords), floats(colors))
    }

    public static func unpack(count: UInt32, coords: Data, colors: Data, source: String) throws -> PointCloud {
        let n = Int(count)
        guard coords.count == n * 12 else { throw ClusterError("\(source): coords hold \(coords.count) bytes for \(n) points (expected \(n * 12))") }
        guard colors.count == n * 12 else { throw ClusterError("\(source): colors hold \(colors.count) bytes for \(n) points (expected \(n * 12))") }
        let xyz = decode(coords), rgb = decode(colors)
        guard xyz.allSatisfy(\.isFinite), rgb.allSatisfy(\.isFinite) else { throw ClusterError("\(source): the cloud has non-finite values") }
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
