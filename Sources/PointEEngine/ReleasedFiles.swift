import Foundation
import PointEModels

/// A file published with Point-E or CLIP: where it comes from and how to check it.
public struct ReleasedFile: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A Point-E network; its architecture is the model's `networkConfig`.
        case pointE(ReleasedModel)
        /// The PointNet++ classifier used for P-FID / P-IS (`{"model_state_dict": ...}`).
        case pointNet
        /// A CLIP TorchScript archive.
        case clip
    }

    /// The name users type (`base40M-textvec`, `ViT-L/14`).
    public let name: String
    public let kind: Kind
    public let url: URL
    /// The published SHA-256 (CLIP's addresses embed it); nil where none was published.
    public let sha256: String?

    /// File name in the cache. Point-E files are stored under their model names
    /// (`base40M-textvec.pt`), which is what `--models-dir` loaders look for, so the cache
    /// directory can be passed as a models directory; CLIP keeps its published name
    /// (`ViT-L-14.pt`).
    public var fileName: String {
        switch kind {
        case .pointE, .pointNet: return ModelFiles(name).checkpoint
        case .clip: return url.lastPathComponent
        }
    }
}

/// Every released file, with the addresses of the reference's `point_e/models/download.py`
/// and CLIP's `clip/clip.py`.
public enum ReleasedFiles {
    static let pointEBase = "https://openaipublic.azureedge.net/main/point-e/"
    static let clipBase = "https://openaipublic.azureedge.net/clip/models/"

    public static let all: [ReleasedFile] = ReleasedModel.allCases.map(\.releasedFile) + [
        ReleasedFile(name: "pointnet", kind: .pointNet, url: URL(string: pointEBase + "pointnet.pt")!, sha256: nil),
        clip("ViT-L/14", "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836", "ViT-L-14.pt"),
        clip("ViT-B/32", "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", "ViT-B-32.pt"),
    ]

    public static func named(_ name: String) -> ReleasedFile? { all.first { $0.name == name } }

    static func clip(_ name: String, _ digest: String, _ file: String) -> ReleasedFile {
        ReleasedFile(name: name, kind: .clip, url: URL(string: clipBase + digest + "/" + file)!, sha256: digest)
    }
}

extension ReleasedModel {
    /// The model's published checkpoint (the reference's `MODEL_PATHS`), found under its model
    /// name. Exhaustive, so a new model does not compile without its address.
    public var releasedFile: ReleasedFile {
        let published = switch self {
        case .base40MImagevec: "base_40m_imagevec.pt"
        case .base40MTextvec: "base_40m_textvec.pt"
        case .base40MUncond: "base_40m_uncond.pt"
        case .base40M: "base_40m.pt"
        case .base300M: "base_300m.pt"
        case .base1B: "base_1b.pt"
        case .upsample: "upsample_40m.pt"
        case .sdf: "sdf.pt"
        }
        return ReleasedFile(name: rawValue, kind: .pointE(self), url: URL(string: ReleasedFiles.pointEBase + published)!, sha256: nil)
    }
}
