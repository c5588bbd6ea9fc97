import ArgumentParser
import Foundation
import PointECluster
import PointEWire

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "CURVE key pairs for authenticated, encrypted ZeroMQ between hosts.",
        subcommands: [KeysGenerateCommand.self])
}

struct KeysGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write NAME.key_secret (the key pair) and NAME.key (the public key), both mode 0600.",
        discussion: """
        Give the coordinator its NAME.key_secret (--curve-key) and copy each peer's NAME.key into \
        the coordinator's allow-list directory (--allow-keys). Give each peer its own \
        NAME.key_secret (--curve-key) and the coordinator's NAME.key (--server-key).
        """)

    @Argument(help: "Key name, e.g. coordinator or worker-03.") var name: String
    @Option(help: "Directory to write the key files into.") var dir = "."

    func run() throws {
        let pair = try CurveKeyPair.generate()
        let files = try pair.write(name: name, directory: dir)
        print("wrote \(files.secretFile) (keep private) and \(files.publicFile)")
        print("public key: \(pair.publicKey)")
    }
}
