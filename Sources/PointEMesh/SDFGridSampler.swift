import PointECloud
import PointEModels
import PointETensor

/// Samples a cloud's SDF (the `CrossAttentionPointCloudSDFModel`) on the reference's grid, as
/// its `marching_cubes_mesh` does: encode the cloud's coordinates once, then decode grid points
/// in batches. Each decoder layer's keys/values of the latents are computed once per cloud;
/// `keysValuesPerBatch` recomputes them for every batch instead (the reference's way, kept for
/// the benchmark's comparison; the values are identical).
public struct SDFGridSampler: Sendable {
    public let model: CrossAttentionPointCloudSDFModel
    public var batchSize: Int
    public var keysValuesPerBatch: Bool

    public init(model: CrossAttentionPointCloudSDFModel, batchSize: Int = 4096, keysValuesPerBatch: Bool = false) {
        precondition(batchSize > 0, "batch size must be positive")
        self.model = model
        self.batchSize = batchSize
        self.keysValuesPerBatch = keysValuesPerBatch
    }

    /// The encoded cloud: latents and (unless recomputed per batch) the decoder's keys/values.
    public struct Encoded: Sendable {
        public let latents: Tensor
        let context: CrossAttentionPointCloudSDFModel.DecoderContext?
    }

    /// Encodes a cloud's coordinates ([1, 3, N]); `source` names the cloud in errors.
    public func encode(_ cloud: PointCloud, source: String) throws -> Encoded {
        try Self.validate(cloud, source: source)
        var columns = [Float](repeating: 0, count: cloud.count * 3)
        for i in 0..<cloud.count { for a in 0..<3 { columns[a * cloud.count + i] = cloud.coords[i * 3 + a] } }
        let latents = try model.encode(Tensor(shape: [1, 3, cloud.count], values: columns))
        return Encoded(latents: latents, context: keysValuesPerBatch ? nil : model.decoderContext(latents: latents))
    }

    /// A cloud must have points and finite coordinates.
    public static func validate(_ cloud: PointCloud, source: String) throws {
        guard cloud.count > 0 else { throw MeshError(source, "the point cloud has no points") }
        if let bad = cloud.coords.firstIndex(where: { !$0.isFinite }) {
            throw MeshError(source, "point \(bad / 3) has a non-finite coordinate (\(cloud.coords[bad])); cannot mesh NaN/inf points")
        }
    }

    /// SDF values at row-major [M, 3] points, decoded `batchSize` at a time. `progress(done, total)`
    /// is called after each batch.
    public func evaluate(_ points: [Float], encoded: Encoded, progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        let m = points.count / 3
        var out = [Float](repeating: 0, count: m)
        var start = 0
        while start < m {
            let n = min(batchSize, m - start)
            let queries = Tensor(zeros: [1, 3, n])
            let q = queries.pointer
            for i in 0..<n { for a in 0..<3 { q[a * n + i] = points[(start + i) * 3 + a] } }
            let context = encoded.context ?? model.decoderContext(latents: encoded.latents)
            let sdf = try model.predictSDF(queries, context: context)
            for i in 0..<n { out[start + i] = sdf.pointer[i] }
            start += n
            progress?(start, m)
        }
        return out
    }

    /// Every point of the `gridSize`^3 grid in the reference's order (x slowest, z fastest).
    public static func gridPoints(_ layout: GridLayout) -> [Float] {
        let g = layout.gridSize
        let axis = (0..<g).map { layout.coordinate($0) }
        var points = [Float](repeating: 0, count: g * g * g * 3)
        var n = 0
        for i in 0..<g { for j in 0..<g { for k in 0..<g {
            points[n] = axis[i]; points[n + 1] = axis[j]; points[n + 2] = axis[k]
            n += 3
        } } }
        return points
    }
}
