import Foundation
import Synchronization

/// A job as it is after a committed change: the row, its most recent errors and warnings (what
/// `GET /api/jobs/{id}` embeds) and its version (PostgreSQL's `xmin` of the row; any string that
/// changes with every committed change).
public struct JobSnapshot: Sendable, Equatable {
    public var job: Job
    public var recent: [JobEvent]
    public var version: String

    public init(job: Job, recent: [JobEvent], version: String) {
        self.job = job
        self.recent = recent
        self.version = version
    }
}

/// What storage tells the live-event hub.
public enum JobChangeSignal: Sendable, Equatable {
    /// A change committed by this process, with the job as it is after it (no read needed).
    case committed(JobSnapshot)
    /// A change committed elsewhere (another instance): ids and version only, the hub reads.
    case notice(organizationID: String, jobID: String, version: String)
    /// Notices may have been missed (the listener's connection was replaced, or it fell behind):
    /// whoever watches must take a fresh snapshot.
    case resync(ResyncReason)

    public enum ResyncReason: String, Sendable {
        /// The listener connected for the first time (changes made before were not heard).
        case started = "listener_started"
        case reconnected = "listener_reconnected"
        case overflowed = "listener_overflowed"
    }
}

/// Carries `JobChangeSignal`s from storage (which emits them after commit) to one consumer (the
/// live-event hub, which connects itself). Emitting with no consumer connected does nothing.
/// The consumer is called synchronously on the emitter's task: it must only queue work.
public final class ChangeFeed: Sendable {
    /// The handler in a struct: a bare function type as the generic `Mutex` value was written
    /// back through a reabstraction thunk on every `withLock`, so each emit wrapped the stored
    /// closure in two more thunks until calling it overflowed the stack (a SIGSEGV after about
    /// 25,000 changes under load).
    private struct Consumer: Sendable {
        let handle: @Sendable (JobChangeSignal) -> Void
    }

    private let consumer = Mutex<Consumer?>(nil)

    public init() {}

    public func connect(_ handler: @escaping @Sendable (JobChangeSignal) -> Void) {
        consumer.withLock { $0 = Consumer(handle: handler) }
    }

    public func emit(_ signal: JobChangeSignal) {
        let current = consumer.withLock { $0 }
        current?.handle(signal)
    }
}
