/// Samples of a scalar field on a regular grid: `values[(i * ny + j) * nz + k] = f(x_i, y_j, z_k)`
/// (x slowest, z fastest, as the reference lays out its SDF volume), with grid point (i, j, k)
/// at `origin + (i, j, k) * spacing`.
public struct VolumeGrid: Sendable, Equatable {
    public var values: [Float]
    public let size: (x: Int, y: Int, z: Int)
    /// In double: the reference hands skimage's marching cubes its voxel size as a Python float,
    /// and skimage scales vertices by it in double before rounding them to float32.
    public let spacing: Double
    public let origin: SIMD3<Float>

    public init(values: [Float], size: (x: Int, y: Int, z: Int), spacing: Double, origin: SIMD3<Float>) {
        precondition(values.count == size.x * size.y * size.z, "volume has \(values.count) values for \(size)")
        self.values = values
        self.size = size
        self.spacing = spacing
        self.origin = origin
    }

    /// A cube of `gridSize`^3 samples over [-side/2, side/2]^3 (the reference's grid).
    public init(cubeValues values: [Float], gridSize: Int, sideLength: Double) {
        let layout = GridLayout(gridSize: gridSize, sideLength: sideLength)
        self.init(values: values, size: (gridSize, gridSize, gridSize), spacing: layout.exactVoxelSize,
                  origin: SIMD3(repeating: layout.minCoord))
    }

    public static func == (a: VolumeGrid, b: VolumeGrid) -> Bool {
        a.values == b.values && a.size == b.size && a.spacing == b.spacing && a.origin == b.origin
    }

    public func index(_ i: Int, _ j: Int, _ k: Int) -> Int { (i * size.y + j) * size.z + k }

    /// True when some sample is > 0 and some is not (a surface exists at level 0).
    public var hasSignChange: Bool {
        var positive = false, negative = false
        for v in values {
            if v > 0 { positive = true } else { negative = true }
            if positive && negative { return true }
        }
        return false
    }

    /// The reference's fix for a volume that is entirely positive or entirely negative:
    /// subtract the mean so marching cubes finds a surface. Returns whether it recentred.
    /// The mean and the subtraction are numpy's on a float32 volume, to the bit.
    @discardableResult
    public mutating func recenterIfNoSignChange() -> Bool {
        guard values.allSatisfy({ $0 < 0 }) || values.allSatisfy({ $0 > 0 }) else { return false }
        let mean = Self.numpyMean(values)
        for i in values.indices { values[i] -= mean }
        return true
    }

    /// `np.mean` of a contiguous float32 array: numpy sums in float32 by pairwise summation (runs
    /// of up to 128 added in eight interleaved partial sums, longer runs split in two at a
    /// multiple of 8) and divides the float32 sum by the count in float32.
    public static func numpyMean(_ values: [Float]) -> Float {
        values.withUnsafeBufferPointer { pairwiseSum($0[...]) } / Float(values.count)
    }

    static func pairwiseSum(_ a: Slice<UnsafeBufferPointer<Float>>) -> Float {
        let n = a.count
        let start = a.startIndex
        if n < 8 {
            var sum: Float = 0
            for x in a { sum += x }
            return sum
        }
        if n <= 128 {
            var r = (0..<8).map { a[start + $0] }
            var i = 8
            while i < n - n % 8 {
                for j in 0..<8 { r[j] += a[start + i + j] }
                i += 8
            }
            var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < n {
                sum += a[start + i]
                i += 1
            }
            return sum
        }
        var half = n / 2
        half -= half % 8
        return pairwiseSum(a[start..<(start + half)]) + pairwiseSum(a[(start + half)...])
    }
}

/// The reference's grid over a cube centred at the origin: `voxel = side / (G - 1)`,
/// `min = -side / 2`, axis value of index n = Float(n) * voxel + min (float32, like torch).
public struct GridLayout: Sendable, Equatable {
    public let gridSize: Int
    public let sideLength: Double
    public let voxelSize: Float
    /// side / (G - 1) as the reference computes it (a Python float), before torch rounds it:
    /// what it passes to marching cubes as the spacing.
    public let exactVoxelSize: Double
    public let minCoord: Float

    public init(gridSize: Int, sideLength: Double) {
        precondition(gridSize >= 2, "a grid needs at least 2 samples per axis")
        self.gridSize = gridSize
        self.sideLength = sideLength
        // The reference computes these in Python doubles, then torch rounds them to float32.
        exactVoxelSize = sideLength / Double(gridSize - 1)
        voxelSize = Float(exactVoxelSize)
        minCoord = Float(-sideLength / 2)
    }

    public func coordinate(_ n: Int) -> Float { Float(n) * voxelSize + minCoord }
}
