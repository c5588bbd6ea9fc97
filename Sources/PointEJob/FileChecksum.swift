import Foundation
import PointECheckpoint
import PointEClusterBase

/// SHA-256 of output files, as lowercase hex: what manifest lines record and what a resumed
/// job verifies before keeping an output.
public enum FileChecksum {
    public static func sha256(_ data: Data) -> String { SHA256.hexDigest(of: data) }

    public static func sha256(file path: String) throws -> String {
        do { return try SHA256.hexDigest(ofFile: path) } catch let error as CheckpointError {
            throw ClusterError(error.description)
        }
    }
}
