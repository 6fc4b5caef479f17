/// The contract's limits (spec §6) and the configurable per-job event cap.
public struct Limits: Sendable {
    public static let maxInteger: Int64 = 9_007_199_254_740_991  // 2^53 - 1
    public static let maxBodyBytes = 1_048_576
    public static let maxMetadataBytes = 262_144
    public static let maxDetailsBytes = 16_384
    public static let maxJobTypeLength = 100
    public static let maxIdentifierLength = 1024
    public static let maxMessageLength = 10_000
    public static let maxStageLength = 100
    public static let maxJobIDLength = 64
    public static let recentEvents = 100
    /// A job's own `stall_after`: 1 second to 30 days (the column's check says the same).
    public static let stallAfterSeconds: ClosedRange<Int64> = 1...2_592_000

    /// Errors (and, separately, warnings) stored per job; past it counts still rise.
    public var maxEventsPerJob: Int64 = 100_000

    public init(maxEventsPerJob: Int64 = 100_000) {
        self.maxEventsPerJob = maxEventsPerJob
    }
}
