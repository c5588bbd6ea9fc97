import ArgumentParser
import PointEDiffusion
import PointEMesh
import PointEModels

// The closed sets of the command line, parsed (and so checked) where they enter; `--help`
// lists their values.

extension ReleasedModel: ExpressibleByArgument {}

/// `--model` / `--base`: a released base model only. A type of its own so that help lists just
/// those and the upsampler and SDF model are refused where they enter (help offered them, and
/// the run then refused them).
struct BaseModel: ExpressibleByArgument, CustomStringConvertible {
    let model: ReleasedModel

    init(_ model: ReleasedModel) { self.model = model }

    init?(argument: String) {
        guard let model = ReleasedModel(rawValue: argument), model.isBaseModel else { return nil }
        self.model = model
    }

    static var allValueStrings: [String] { ReleasedModel.baseModels.map(\.rawValue) }
    var description: String { model.rawValue }
}

extension SamplerKind: ExpressibleByArgument {}

extension TriMesh.FileFormat: ExpressibleByArgument {}

/// `--mesh-formats glb,ply` or `none` (no meshing).
struct MeshFormatList: ExpressibleByArgument, CustomStringConvertible {
    var formats: [TriMesh.FileFormat]

    init(_ formats: [TriMesh.FileFormat]) { self.formats = formats }

    init?(argument: String) {
        if argument == "none" { formats = []; return }
        var list: [TriMesh.FileFormat] = []
        for part in argument.split(separator: ",") {
            guard let format = TriMesh.FileFormat(rawValue: part.trimmingCharacters(in: .whitespaces).lowercased()) else { return nil }
            if !list.contains(format) { list.append(format) }
        }
        guard !list.isEmpty else { return nil }
        formats = list
    }

    var description: String { formats.isEmpty ? "none" : formats.map(\.rawValue).joined(separator: ",") }

    static var allValueStrings: [String] { TriMesh.FileFormat.allCases.map(\.rawValue) + ["none"] }

    /// "glb, ply, ...": every format, for help texts.
    static var names: String { TriMesh.FileFormat.allCases.map(\.rawValue).joined(separator: ", ") }
}
