import PointECheckpoint

/// A failure reading or writing point cloud / mesh files; the message starts with the file path.
public typealias MeshError = FileError
