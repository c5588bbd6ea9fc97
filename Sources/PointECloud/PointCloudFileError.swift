/// A failure reading or writing a point cloud file (.npz, .ply); the message starts with the file path.
public struct PointCloudFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}
