/// One cell of skimage's Lewiner marching cubes (what the reference's `pc_to_mesh` runs): the
/// cube's geometry in Lewiner's numbering, the tests that pick a cell's triangulation, and the
/// triangulations themselves (LewinerTriangulations.swift, learnt from skimage by
/// scripts/derive_marching_cubes_tables.py).
///
/// Corner L sits at `cornerOffset[L]` = (x, y, z) in grid steps, where x is the grid's last
/// (fastest) axis k, y the middle axis j and z the first axis i: corners 0-3 go round the z = 0
/// square (0,0) (1,0) (1,1) (0,1), corners 4-7 the same at z = 1. Edge e joins `edgeCorners[e]`
/// (edges 0-3 round the bottom, 4-7 round the top, 8-11 upwards); id 12 is a vertex inside the
/// cell. Every test is computed in double precision, in the order skimage evaluates it, on the
/// corner values minus the level: the outcomes must be skimage's to the last bit, since a
/// different outcome is a different surface.
enum LewinerCube {
    /// skimage's tolerance in every test and in the vertex weights: numpy.spacing(1.0) = 2^-52.
    static let epsilon = Double.ulpOfOne

    static let cornerOffset: [SIMD3<Int>] = [
        SIMD3(0, 0, 0), SIMD3(1, 0, 0), SIMD3(1, 1, 0), SIMD3(0, 1, 0),
        SIMD3(0, 0, 1), SIMD3(1, 0, 1), SIMD3(1, 1, 1), SIMD3(0, 1, 1),
    ]

    /// (first, second) corner of each edge. The direction matters only for the section test's
    /// t, which skimage measures from the first corner.
    static let edgeCorners: [(Int, Int)] = [
        (0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5), (2, 6), (3, 7),
    ]
    static let centre = 12

    /// Faces as corner cycles (A, B, C, D), A and C diagonal: y = 0, x = 1, y = 1, x = 0, z = 0,
    /// z = 1. Which corner is first matters only when it is exactly at the level.
    static let faceCorners: [(Int, Int, Int, Int)] = [
        (0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3), (3, 7, 4, 0), (0, 3, 2, 1), (4, 7, 6, 5),
    ]

    static func corner(at offset: SIMD3<Int>) -> Int { cornerOffset.firstIndex(of: offset)! }

    /// Per edge: the axis it runs along (0 x, 1 y, 2 z) and the offset of its lower corner.
    static let edgeAxis: [Int] = edgeCorners.map { s, q in (0..<3).first { cornerOffset[s][$0] != cornerOffset[q][$0] }! }
    static let edgeLowOffset: [SIMD3<Int>] = edgeCorners.map { s, q in
        SIMD3((0..<3).map { min(cornerOffset[s][$0], cornerOffset[q][$0]) })
    }

    /// gradientEnds[3 * L + axis]: the corners at the low and the high end of the cell edge
    /// through corner L along axis.
    static let gradientEnds: [(low: Int, high: Int)] = (0..<24).map { n in
        var low = cornerOffset[n / 3], high = cornerOffset[n / 3]
        low[n % 3] = 0
        high[n % 3] = 1
        return (corner(at: low), corner(at: high))
    }

    /// For the section test through edge e: the three parallel edges as corner pairs in e's
    /// direction, the neighbour across one perpendicular axis, the diagonal one, the neighbour
    /// across the other (the test treats the two neighbours alike).
    static let parallelEdges: [[(Int, Int)]] = edgeCorners.map { s, q in
        let axis = (0..<3).first { cornerOffset[s][$0] != cornerOffset[q][$0] }!
        let (u, w) = ((axis + 1) % 3, (axis + 2) % 3)
        func moved(_ c: Int, _ flips: [Int]) -> Int {
            var o = cornerOffset[c]
            for a in flips { o[a] ^= 1 }
            return corner(at: o)
        }
        return [[u], [u, w], [w]].map { (moved(s, $0), moved(q, $0)) }
    }

    /// The faces whose diagonal corners share a side of the level while adjacent ones do not,
    /// in increasing face number: bit i of a rule's entry number is the outcome of the i-th.
    static let ambiguousFaces: [[Int]] = (0..<256).map { index in
        faceCorners.indices.filter { f in
            let (a, b, c, d) = faceCorners[f]
            let inside = [a, b, c, d].map { index & (1 << $0) != 0 }
            return inside[0] == inside[2] && inside[1] == inside[3] && inside[0] != inside[1]
        }
    }

    // MARK: The tests

    /// Whether a face's corners above the level are joined across it: the sign of
    /// A * (AC - BD), which is the sign of the face's bilinear saddle. skimage joins them when
    /// |AC - BD| < epsilon whatever the cube, and answers a fixed outcome per cube index when
    /// A is exactly 0 (`zeroJoins`).
    static func faceJoins(_ v: UnsafePointer<Double>, face: Int, zeroJoins: Bool) -> Bool {
        let (a, b, c, d) = faceCorners[face]
        let (A, B, C, D) = (v[a], v[b], v[c], v[d])
        let acbd = A * C - B * D
        if acbd > -epsilon && acbd < epsilon { return true }
        if A == 0 { return zeroJoins }
        return A * acbd > 0
    }

    /// Outcome of an interior test: whether the section's corners above the level join a
    /// diagonal, or `nil` where skimage's switch falls through without an answer.
    static func sectionJoins(_ At: Double, _ Bt: Double, _ Ct: Double, _ Dt: Double) -> Bool? {
        let test = (At >= 0 ? 1 : 0) + (Bt >= 0 ? 2 : 0) + (Ct >= 0 ? 4 : 0) + (Dt >= 0 ? 8 : 0)
        switch test {
        case 7, 11, 13, 14, 15: return true
        // Diagonal sections: skimage returns only when the saddle separates the diagonal;
        // otherwise its switch falls through (unlike Lewiner's original, which joins).
        case 5: return At * Ct - Bt * Dt < epsilon ? false : nil
        case 10: return At * Ct - Bt * Dt >= epsilon ? false : nil
        default: return false
        }
    }

    /// skimage's test for cases 4 and 10, always across z: the section where the determinant of
    /// the horizontal section's bilinear form is extremal. Outside the cell: not joined.
    static func verticalTestJoins(_ v: UnsafePointer<Double>) -> Bool? {
        let a = (v[4] - v[0]) * (v[6] - v[2]) - (v[7] - v[3]) * (v[5] - v[1])
        let b = v[2] * (v[4] - v[0]) + v[0] * (v[6] - v[2]) - v[1] * (v[7] - v[3]) - v[3] * (v[5] - v[1])
        let t = -b / (2 * a + epsilon)
        if t < 0 || t > 1 { return false }
        return sectionJoins(v[0] + (v[4] - v[0]) * t, v[3] + (v[7] - v[3]) * t,
                            v[2] + (v[6] - v[2]) * t, v[1] + (v[5] - v[1]) * t)
    }

    /// skimage's test for cases 6, 7, 12 and 13: the section perpendicular to `edge` through its
    /// crossing (where the value is taken as exactly 0).
    static func sectionTestJoins(_ v: UnsafePointer<Double>, edge: Int) -> Bool? {
        let (s, q) = edgeCorners[edge]
        let t = v[s] / (v[s] - v[q] + epsilon)
        let p = parallelEdges[edge]
        func along(_ e: (Int, Int)) -> Double { v[e.0] + (v[e.1] - v[e.0]) * t }
        return sectionJoins(0, along(p[0]), along(p[1]), along(p[2]))
    }

    // MARK: The triangulations

    enum InteriorTest: Equatable {
        case vertical
        case section(edge: Int)
    }

    enum Entry: Equatable {
        /// Vertex ids (edges 0-11, 12 inside), three per triangle, in skimage's order and winding.
        case triangles([UInt8])
        case interior(InteriorTest, separate: [UInt8], joined: [UInt8])
    }

    struct Rule {
        var ambiguousFaces: [Int]
        /// Per ambiguous face: its outcome when its first corner is exactly at the level.
        var zeroJoins: [Bool]
        /// The vertical test's outcome when skimage's switch falls through.
        var fallJoins: Bool
        /// One per combination of face outcomes.
        var entries: [Entry]
    }

    /// The 256 rules, parsed once from LewinerTriangulations.lines (whose comment gives the format).
    static let rules: [Rule] = LewinerTriangulations.lines.enumerated().map { n, line in
        parseRule(line, index: n)
    }

    static func parseRule(_ line: String, index: Int) -> Rule {
        func fail(_ why: String) -> Never {
            fatalError("LewinerTriangulations.swift line for cube index \(index): \(why): \(line)")
        }
        let parts = line.components(separatedBy: " | ")
        let head = parts[0].split(separator: " ").map(String.init)
        guard Int(head.first ?? "") == index else { fail("lines out of order") }
        let faces = ambiguousFaces[index]
        var rule = Rule(ambiguousFaces: faces, zeroJoins: Array(repeating: false, count: faces.count), fallJoins: false, entries: [])
        for field in head.dropFirst() {
            if field.hasPrefix("zero:") {
                let bits = field.dropFirst(5)
                guard bits.count == faces.count else { fail("zero: needs one bit per ambiguous face") }
                rule.zeroJoins = bits.map { $0 == "1" }
            } else if field.hasPrefix("fall:") {
                rule.fallJoins = field.dropFirst(5) == "1"
            } else {
                fail("unknown field \(field)")
            }
        }
        func triangles(_ text: Substring) -> [UInt8] {
            let groups = text.split(separator: " ")
            guard groups.allSatisfy({ $0.count == 3 }) else { fail("a triangle is not three ids") }
            return groups.flatMap { $0.map { UInt8(String($0), radix: 16)! } }
        }
        rule.entries = parts.dropFirst().map { text -> Entry in
            let entry = Substring(text)
            guard entry != "-" else { return .triangles([]) }  // never answered: no cell has it
            guard let question = entry.firstIndex(of: "?") else { return .triangles(triangles(entry)) }
            let test = entry[..<question]
            let branches = entry[entry.index(after: question)...].components(separatedBy: " ! ")
            guard branches.count == 2 else { fail("an interior entry needs two branches") }
            let kind: InteriorTest
            if test == "v" {
                kind = .vertical
            } else if test.hasPrefix("e"), let e = Int(test.dropFirst(), radix: 16), e < 12 {
                kind = .section(edge: e)
            } else {
                fail("unknown interior test \(test)")
            }
            return .interior(kind, separate: triangles(Substring(branches[0])), joined: triangles(Substring(branches[1])))
        }
        guard rule.entries.count == (index == 0 || index == 255 ? 1 : 1 << faces.count) else {
            fail("\(rule.entries.count) entries for \(faces.count) ambiguous faces")
        }
        return rule
    }

    /// The triangles skimage makes in a cell with corner values `v` (minus the level) and cube
    /// index `index` (0 and 255 excluded).
    static func triangles(_ v: UnsafePointer<Double>, index: Int) -> [UInt8] {
        let rule = rules[index]
        var bits = 0
        for (i, face) in rule.ambiguousFaces.enumerated() where faceJoins(v, face: face, zeroJoins: rule.zeroJoins[i]) {
            bits |= 1 << i
        }
        switch rule.entries[bits] {
        case .triangles(let t):
            return t
        case .interior(let test, let separate, let joined):
            let outcome: Bool?
            switch test {
            case .vertical: outcome = verticalTestJoins(v)
            case .section(let edge): outcome = sectionTestJoins(v, edge: edge)
            }
            return (outcome ?? rule.fallJoins) ? joined : separate
        }
    }
}
