public import LibPQ
public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// A committed change of one job, as other instances hear of it: ids and the row's version,
/// never data (subscribers read the job themselves, under their own tenant).
public struct ChangeNotice: Sendable, Hashable {
    public var organizationID: String
    public var jobID: String
    public var version: String
    /// The instance that committed the change (it has told its own subscribers already).
    public var instance: String?

    public init(organizationID: String, jobID: String, version: String, instance: String? = nil) {
        self.organizationID = organizationID
        self.jobID = jobID
        self.version = version
        self.instance = instance
    }

    /// `org job version [instance]`: ids never contain spaces or newlines.
    var line: String {
        organizationID + " " + jobID + " " + version + (instance.map { " " + $0 } ?? "")
    }

    /// The notices of one payload (lines that do not parse are skipped).
    public static func parse(_ payload: String) -> [ChangeNotice] {
        payload.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3 || parts.count == 4 else { return nil }
            return ChangeNotice(
                organizationID: String(parts[0]), jobID: String(parts[1]), version: String(parts[2]),
                instance: parts.count == 4 ? String(parts[3]) : nil)
        }
    }
}

/// Tells every instance (through PostgreSQL's `NOTIFY`) which jobs changed, AFTER their
/// transactions committed, batched: at most one `pg_notify` per `interval` and per
/// `maxPayloadBytes` of notices, sent on the client it is given.
///
/// Why not `NOTIFY` inside each write transaction: every notifying transaction takes
/// PostgreSQL's global notification-queue lock at commit, which serialises commits — measured
/// here, a per-row `pg_notify` trigger cut a 64-client UPDATE load from 10,746 to 3,009 tps,
/// while one batched `pg_notify` 100 times a second cost about 11 % (docs/plan-issue13.md). The
/// trade: a crash between a commit and the next batch loses those notices; subscribers re-check
/// what they watch when nothing arrived for a while.
///
/// `publish` never waits: notices queue in memory up to `maxQueued` (past it the oldest are
/// dropped and counted in `dropped`).
public final class ChangePublisher: Service, Sendable {
    public let channel: String
    public let interval: Duration
    public let maxPayloadBytes: Int
    public let maxQueued: Int
    let client: PGClient
    let logger: Logger
    private let queue = NIOLockedValueBox(State())
    /// Wakes `run` when the first notice of a batch is queued: an idle publisher does not tick.
    private let wake: AsyncStream<Void>
    private let waker: AsyncStream<Void>.Continuation

    private struct State {
        var notices: [ChangeNotice] = []
        var dropped = 0
        var sent = 0
    }

    public init(
        client: PGClient, channel: String = "jobs_changes", interval: Duration = .milliseconds(10),
        maxPayloadBytes: Int = 7_900, maxQueued: Int = 100_000, logger: Logger
    ) {
        self.client = client
        self.channel = channel
        self.interval = interval
        self.maxPayloadBytes = maxPayloadBytes
        self.maxQueued = maxQueued
        self.logger = logger
        (wake, waker) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a notice of a committed change.
    public func publish(_ notice: ChangeNotice) {
        let first = queue.withLockedValue { state in
            if state.notices.count >= maxQueued {
                state.notices.removeFirst(state.notices.count - maxQueued + 1)
                state.dropped += 1
            }
            state.notices.append(notice)
            return state.notices.count == 1
        }
        if first { waker.yield() }
    }

    /// Notices dropped because the queue was full; `pg_notify` calls made.
    public var dropped: Int { queue.withLockedValue { $0.dropped } }
    public var notifications: Int { queue.withLockedValue { $0.sent } }

    /// Waits for a first notice, lets the batch gather for `interval`, sends it; again.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in
            for await _ in wake {
                try await Task.sleep(for: interval)
                await flush()
            }
        }
        await flush()  // what queued before shutdown
    }

    /// Sends what is queued now, one `pg_notify` per payload.
    func flush() async {
        let notices = queue.withLockedValue { state in
            defer { state.notices.removeAll(keepingCapacity: true) }
            return state.notices
        }
        for payload in Self.payloads(notices, maxBytes: maxPayloadBytes) {
            do {
                try await client.query("SELECT pg_notify(\(channel), \(payload))")
                queue.withLockedValue { $0.sent += 1 }
            } catch {
                logger.warning("could not publish job changes", metadata: ["error": "\(error)"])
            }
        }
    }

    /// The notices as newline-separated lines, packed into payloads of at most `maxBytes`.
    static func payloads(_ notices: [ChangeNotice], maxBytes: Int) -> [String] {
        var payloads: [String] = []
        var current = ""
        for notice in notices {
            let line = notice.line
            if !current.isEmpty, current.utf8.count + 1 + line.utf8.count > maxBytes {
                payloads.append(current)
                current = ""
            }
            current += current.isEmpty ? line : "\n" + line
        }
        if !current.isEmpty { payloads.append(current) }
        return payloads
    }
}
