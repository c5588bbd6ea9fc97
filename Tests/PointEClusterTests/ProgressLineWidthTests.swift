import Foundation
import PointETestSupport
import XCTest

/// `pointe run`'s progress line on an 80-column terminal (a pseudo-terminal here) fits it:
/// a longer line wraps, and every redraw of a wrapped line left one more line behind
/// (issue 33: the ~130-character line did in an 80-column terminal).
final class ProgressLineWidthTests: ProcessTestCase {
    func testTheProgressLineFitsAnEightyColumnTerminal() throws {
        let dir = ClusterTestSupport.temporaryDirectory("progress-width")
        let prompts = try writePrompts(6, in: dir)
        let terminal = try PseudoTerminal(columns: 80, rows: 24)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltTool.pointe())
        process.arguments = ["run", prompts, "-o", dir + "/job", "--models-dir", ClusterTestSupport.modelsDirectory, "--model", "base40M-uncond",
                             "--no-upsample", "--steps", "2", "--shard-size", "1", "--workers", "1", "--mesh-formats", "none"]
        process.standardError = terminal.child
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        terminal.closeChildSide()
        let output = terminal.readAll()  // until the child (and its workers) close the terminal
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)

        // What the terminal shows: each redraw starts at a carriage return; escapes take no room.
        let shown = output.replacingOccurrences(of: "\u{1B}[K", with: "")
            .split(omittingEmptySubsequences: true) { $0 == "\r" || $0 == "\n" }.map(String.init)
        let progress = shown.filter { $0.hasPrefix("job: ") }
        XCTAssertFalse(progress.isEmpty, "no progress line was drawn:\n\(output)")
        for line in progress {
            XCTAssertLessThan(line.count, 80, "a progress line wider than the 80-column terminal: \(line)")
        }
    }
}

/// A pseudo-terminal pair of a given size: the child side for a process's standard streams,
/// everything it writes read back from the parent side.
final class PseudoTerminal {
    private let parent: Int32
    private var childDescriptor: Int32
    let child: FileHandle

    init(columns: UInt16, rows: UInt16) throws {
        // posix_openpt/grantpt/unlockpt are hidden from Swift's Glibc module: the same by hand
        // (Linux devpts: unlock with TIOCSPTLCK, the child is /dev/pts/<TIOCGPTN>).
        parent = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0, number: UInt32 = 0
        let TIOCSPTLCK: UInt = 0x4004_5431, TIOCGPTN: UInt = 0x8004_5430
        guard parent >= 0, ioctl(parent, TIOCSPTLCK, &unlock) == 0, ioctl(parent, TIOCGPTN, &number) == 0 else {
            throw SubprocessError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let name = "/dev/pts/\(number)"
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        guard ioctl(parent, UInt(TIOCSWINSZ), &size) == 0 else { throw SubprocessError("cannot size the pseudo-terminal") }
        childDescriptor = open(name, O_RDWR | O_NOCTTY)
        guard childDescriptor >= 0 else { throw SubprocessError("cannot open \(name): \(String(cString: strerror(errno)))") }
        child = FileHandle(fileDescriptor: childDescriptor, closeOnDealloc: false)
    }

    /// The parent's copy of the child side, closed once the child has it (or reads never end).
    func closeChildSide() {
        if childDescriptor >= 0 { close(childDescriptor) }
        childDescriptor = -1
    }

    /// Everything written until every holder of the child side has closed it.
    func readAll() -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(parent, &buffer, buffer.count)
            guard n > 0 else { break }  // EIO once the last child-side descriptor closes
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    deinit {
        closeChildSide()
        close(parent)
    }
}
