import Foundation
import PointEMesh
import PointEClusterBase

/// A mesh file a mesher sent, checked before it is written: within the size bound, parsed
/// back as the format it claims with the readers `pointe` reads meshes with (GLB structure and
/// accessors, PLY and OBJ bodies, indices within the vertices, finite values), with at least
/// one triangle and its vertices within the coordinate bound.
package enum MeshPayload {
    /// `source` names the file's prompt and peer in the error.
    package static func check(_ file: Pointe_Cluster_MeshFile, source: String, limits: PayloadLimits) throws {
        guard let format = TriMesh.FileFormat(rawValue: file.format) else {
            throw ClusterError("\(source): unknown mesh format \"\(file.format)\"")
        }
        guard file.data.count <= limits.maxMeshFileBytes else {
            throw ClusterError("\(source): \(file.data.count) bytes, over the \(limits.maxMeshFileBytes)-byte limit")
        }
        let mesh: TriMesh
        do { mesh = try TriMesh.decode(file.data, format: format, source: source) } catch let error as MeshError {
            throw ClusterError(error.description)
        }
        guard mesh.faceCount > 0 else { throw ClusterError("\(source): the mesh has no triangles") }
        if let bad = mesh.vertices.firstIndex(where: { abs($0) > limits.coordinateBound }) {
            throw ClusterError("\(source): vertex \(bad / 3) has coordinate \(mesh.vertices[bad]), out of range (|x| <= \(limits.coordinateBound))")
        }
    }
}
