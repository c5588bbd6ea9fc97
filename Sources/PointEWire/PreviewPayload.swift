import Foundation
import PointEImage
import PointEMesh
import PointEClusterBase

/// A preview a worker rendered and sent with its cloud, checked before it is written: within
/// the size bound, a PNG that the decoder `pointe` reads images with decodes in full (every
/// row, with no image kept: `ImageDecoder.validatePNG`), and the size of the job's preview
/// (`PointCloudPreview.job`). The pixels themselves are the worker's word, as the cloud is:
/// the delivery authority has already checked who sent it.
package enum PreviewPayload {
    /// `source` names the prompt and peer in the error.
    package static func check(_ png: Data, source: String, limits: PayloadLimits) throws {
        guard png.count <= limits.maxPreviewBytes else {
            throw ClusterError("\(source): preview of \(png.count) bytes, over the \(limits.maxPreviewBytes)-byte limit")
        }
        let image: (width: Int, height: Int)
        do { image = try ImageDecoder.validatePNG(png, source: "\(source): preview") } catch let error as ImageError {
            throw ClusterError(error.description)
        }
        let size = PointCloudPreview.job.imageSize
        guard image.width == size, image.height == size else {
            throw ClusterError("\(source): preview is \(image.width)x\(image.height) pixels, not the job preview's \(size)x\(size)")
        }
    }
}
