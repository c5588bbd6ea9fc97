import ArgumentParser
import Foundation
import PointECloud
import PointEMesh

struct PreviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Render a point cloud (.ply/.npz) or a mesh (.glb/.obj/.usda/.ply with faces) from several viewpoints into one PNG.",
        discussion: "Examples:\n  pointe preview corgi.npz -o corgi.png\n  pointe preview corgi.glb -o corgi.png --size 128 --grid 2")

    @Argument(help: "A point cloud (.ply, .npz) or a mesh (.glb, .obj, .usda, .ply with faces).") var input: String
    @Option(name: .shortAndLong, help: "Output PNG.") var output: String
    @Option(parsing: .unconditional, help: "Pixels per view (16 to 4096).") var size = 256
    @Option(parsing: .unconditional, help: "Views per side of the grid (grid x grid views, 1 to 8).") var grid = 3

    func validate() throws {
        // The picture is PNG whatever the name says: a .jpg of PNG bytes fooled viewers.
        guard (output as NSString).pathExtension.lowercased() == "png" else { throw ValidationError("-o \(output): previews are PNG; give a .png file name") }
        try OptionBounds.check(size, 16...4096, "--size")
        try OptionBounds.check(grid, 1...8, "--grid")
    }

    func run() throws {
        let image: PreviewImage
        let what: String
        switch (input as NSString).pathExtension.lowercased() {
        case "npz":
            let cloud = try PointCloud.readNPZ(input)
            image = try PointCloudPreview(tileSize: size, grid: grid).render(cloud)
            what = "\(cloud.count) points"
        case "glb", "obj", "usda":
            let mesh = try TriMesh.read(input)
            image = try MeshPreview(tileSize: size, grid: grid).render(mesh)
            what = "\(mesh.faceCount) faces"
        case "ply":
            // One extension for both: a PLY that declares faces is a mesh, otherwise a cloud.
            if try Self.plyDeclaresFaces(input) {
                let mesh = try TriMesh.read(input)
                image = try MeshPreview(tileSize: size, grid: grid).render(mesh)
                what = "\(mesh.faceCount) faces"
            } else {
                let cloud = try PointCloud.readPLY(input)
                image = try PointCloudPreview(tileSize: size, grid: grid).render(cloud)
                what = "\(cloud.count) points"
            }
        default:
            throw CommandFailure("\(input): expected .ply, .npz, .glb, .obj or .usda")
        }
        try image.writePNG(to: output)
        print("\(output): \(image.width)x\(image.height), \(what)")
    }

    /// Whether a PLY header has a non-empty `element face`.
    static func plyDeclaresFaces(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CommandFailure("\(path): cannot open") }
        defer { try? handle.close() }
        let head = String(decoding: try handle.read(upToCount: 4096) ?? Data(), as: UTF8.self)
        guard let end = head.range(of: "end_header") else { throw CommandFailure("\(path): no PLY header (end_header missing)") }
        return head[..<end.lowerBound].split(separator: "\n").contains { line in
            let words = line.split(separator: " ")
            return words.count == 3 && words[0] == "element" && words[1] == "face" && (Int(words[2]) ?? 0) > 0
        }
    }
}
