import PointECheckpoint

/// A failure reading or writing a point cloud file (.npz, .ply); the message starts with the file path.
public typealias PointCloudFileError = FileError
