import ArgumentParser
import Foundation
import PointEMesh

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Render a point cloud (.ply or .npz) from several viewpoints into one PNG.")

    @Argument(help: "Point cloud file: .ply or .npz.") var input: String
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String
    @Option(help: "Pixels per view.") var size = 256
    @Option(help: "Views per side of the grid (grid x grid views).") var grid = 3

    func run() throws {
        guard size >= 16, size <= 4096, grid >= 1, grid <= 8 else {
            throw ValidationError("--size must be 16...4096 and --grid 1...8")
        }
        let cloud: PointCloud
        switch (input as NSString).pathExtension.lowercased() {
        case "ply": cloud = try PointCloud.readPLY(input)
        case "npz": cloud = try PointCloud.readNPZ(input)
        default: throw ValidationError("\(input): expected a .ply or .npz point cloud")
        }
        let image = try PointCloudPreview(tileSize: size, grid: grid).render(cloud)
        do { try image.writePNG(to: output) } catch { throw ValidationError("\(output): \(error)") }
        print("\(output): \(image.width)x\(image.height), \(cloud.count) points")
    }
}
