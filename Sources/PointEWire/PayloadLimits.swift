import Foundation

/// Bounds on what a peer may send, checked before anything is written. They are far beyond
/// what the samplers and meshers make (Point-E clouds and meshes fit in about [-1, 1]^3, 4096
/// points, a few MB of mesh), so only garbage reaches them.
public struct PayloadLimits: Sendable {
    public var maxPoints = 1 << 20
    /// Largest |coordinate| of a cloud point or mesh vertex.
    public var coordinateBound: Float = 100
    /// Largest mesh file (one format of one prompt).
    public var maxMeshFileBytes = 64 << 20
    /// Largest preview PNG a worker may send (the job preview is about 150 KB; stored without
    /// compression it would be 443 KB).
    public var maxPreviewBytes = 4 << 20
    public init() {}
}

/// What a peer delivers that is checked (the `kind` label of pointe_payloads_rejected_total).
package enum PayloadKind: String, CaseIterable, Sendable {
    case cloud, mesh, preview
}
