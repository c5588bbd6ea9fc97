import PointECloud
extension TriMesh {
    /// The mesh with each vertex given the channels (e.g. R, G, B) of its nearest cloud point,
    /// as the reference's `fill_vertex_channels` does (nearest by a k-d tree).
    public func coloredByNearestPoint(of cloud: PointCloud) -> TriMesh {
        guard !cloud.channels.isEmpty, cloud.count > 0 else { return self }
        let nearest = KDTree(points: cloud.coords).nearest(queries: vertices)
        var mesh = self
        mesh.vertexChannels = cloud.channels.map { channel in
            PointCloud.Channel(name: channel.name, values: nearest.map { channel.values[$0] })
        }
        return mesh
    }
}
