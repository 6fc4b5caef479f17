import Foundation
import JobsDomain
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
import StrictJSON

/// The limits and rhythm of live streams (settings `SSE_*`).
public struct LiveSettings: Sendable, Equatable {
    /// Streams one instance holds at most (`503` + `Retry-After` past it).
    public var maxStreams = 5_000
    /// Streams one organization holds at most on one instance (`429` + `Retry-After`).
    public var maxStreamsPerOrganization = 1_000
    /// Comment heartbeat interval; a watched job is also re-read when it was silent this long.
    public var heartbeat: Duration = .seconds(15)
    /// Frames queued for one stream at most; a consumer that falls this far behind is dropped.
    public var bufferFrames = 256
    /// The server's `STALL_AFTER`: frames render a job's `stalled` like the other views do.
    public var stallAfter: Duration = AppConfiguration.defaultStallAfter

    public init() {}
}

/// What a stream handler writes: SSE frames, the last one ending the stream.
enum LiveFrame: Sendable {
    case frame(ByteBuffer, last: Bool)
}

/// Fans committed job changes out to the live streams of this instance.
///
/// - Signals come from storage through a `ChangeFeed`: a change committed here arrives with the
///   job as it is after it (no read); another instance's change arrives as ids and a version, and
///   the hub reads that job ONCE for all its subscribers (job streams and organization streams),
///   only if someone here watches it and the version is not the one already sent.
/// - Each change is rendered once; every subscriber gets the same bytes.
/// - Frames are queued per stream up to `bufferFrames`; a stream whose consumer falls behind is
///   ended (its client reconnects with `Last-Event-ID` and gets a fresh snapshot), never buffered
///   without bound.
/// - As a `Service`, it sends a heartbeat comment to every stream each `heartbeat`, re-reads
///   watched jobs that were silent that long (a notice lost in a crash is noticed within two
///   heartbeats), and on drain ends every stream.
/// - Nothing here holds a database connection while a stream is idle: reads are short
///   `JobStorage.snapshot` calls.
final class LiveHub: Service, Sendable {
    struct JobKey: Hashable, Sendable {
        var organization: String
        var jobID: String
    }

    enum Kind: Sendable {
        case job(String)
        case organization(statuses: Set<JobStatus>, jobType: String?)
    }

    struct Subscriber {
        let organization: String
        let kind: Kind
        let continuation: AsyncStream<LiveFrame>.Continuation
        /// The version last sent (job streams), so a change is never sent twice.
        var sentVersion: String?
    }

    struct Topic {
        var subscribers: Set<Int> = []
        /// The newest state seen (a late, older one is ignored).
        var version: String?
        var updatedAt: Date?
        var lastChange = ContinuousClock.now
    }

    struct State {
        var subscribers: [Int: Subscriber] = [:]
        var topics: [JobKey: Topic] = [:]
        var organizations: [String: Set<Int>] = [:]
        var perOrganization: [String: Int] = [:]
        var nextID = 0
        var closed = false
        /// Reads in flight, and whether another was asked for meanwhile.
        var reads: [JobKey: Bool] = [:]
        /// Streams removed under the lock, finished after it (finishing calls `onTermination`,
        /// which takes the lock).
        var finishing: [AsyncStream<LiveFrame>.Continuation] = []

        /// Removes a stream's subscription; its continuation is finished after the lock.
        mutating func remove(_ id: Int) {
            guard let subscriber = subscribers.removeValue(forKey: id) else { return }
            let organization = subscriber.organization
            perOrganization[organization, default: 1] -= 1
            if perOrganization[organization] == 0 { perOrganization[organization] = nil }
            switch subscriber.kind {
            case .job(let jobID):
                let key = JobKey(organization: organization, jobID: jobID)
                topics[key]?.subscribers.remove(id)
                if topics[key]?.subscribers.isEmpty == true { topics[key] = nil }
            case .organization:
                organizations[organization]?.remove(id)
                if organizations[organization]?.isEmpty == true { organizations[organization] = nil }
            }
            finishing.append(subscriber.continuation)
        }
    }

    /// Runs `body` under the lock, then finishes the streams it removed.
    private func locked<T>(_ body: (inout State) -> T) -> T {
        let (result, finishing) = state.withLockedValue { state in
            let result = body(&state)
            defer { state.finishing.removeAll() }
            return (result, state.finishing)
        }
        for continuation in finishing { continuation.finish() }
        return result
    }

    let storage: any JobStorage
    let settings: LiveSettings
    let metrics: AppMetrics?
    let logger: Logger
    private let state = NIOLockedValueBox(State())

    init(storage: any JobStorage, settings: LiveSettings, metrics: AppMetrics?, logger: Logger) {
        self.storage = storage
        self.settings = settings
        self.metrics = metrics
        self.logger = logger
        storage.changes.connect { [weak self] signal in self?.handle(signal) }
        metrics?.attach(self)
    }

    var openStreams: Int { state.withLockedValue { $0.subscribers.count } }

    // MARK: Subscriptions

    /// Admits a stream (or refuses it: `503` past the instance's limit or while draining, `429`
    /// past the organization's) and returns its frames, `initial` first.
    func subscribe(organization: String, _ kind: Kind, initial: [ByteBuffer] = []) throws(APIError) -> (
        id: Int, frames: AsyncStream<LiveFrame>
    ) {
        let (frames, continuation) = AsyncStream.makeStream(
            of: LiveFrame.self, bufferingPolicy: .bufferingOldest(settings.bufferFrames))
        let settings = self.settings
        let admitted = state.withLockedValue { state -> Result<Int, APIError> in
            if state.closed {
                return .failure(.overloaded("The server is shutting down; reconnect to another instance"))
            }
            if state.subscribers.count >= settings.maxStreams {
                return .failure(
                    .overloaded("This instance holds \(settings.maxStreams) live streams, its limit; retry later"))
            }
            if state.perOrganization[organization, default: 0] >= settings.maxStreamsPerOrganization {
                return .failure(
                    .tooManyRequests(
                        "Your organization holds \(settings.maxStreamsPerOrganization) live streams on this instance, its limit; close some or retry later"
                    ))
            }
            let id = state.nextID
            state.nextID += 1
            for frame in initial { continuation.yield(.frame(frame, last: false)) }
            state.subscribers[id] = Subscriber(organization: organization, kind: kind, continuation: continuation)
            state.perOrganization[organization, default: 0] += 1
            switch kind {
            case .job(let jobID):
                state.topics[JobKey(organization: organization, jobID: jobID), default: Topic()].subscribers.insert(id)
            case .organization:
                state.organizations[organization, default: []].insert(id)
            }
            return .success(id)
        }
        let id = try admitted.get()
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, frames)
    }

    /// Removes a stream (idempotent).
    func unsubscribe(_ id: Int) {
        locked { $0.remove(id) }
    }

    /// Sends a job stream its first snapshot — unless a change already reached it (that one is
    /// newer), or the client's `Last-Event-ID` is this very version (nothing missed).
    func start(_ id: Int, with snapshot: JobSnapshot, lastEventID: String?) {
        let frame = Self.jobFrame(snapshot, stallAfter: settings.stallAfter)
        locked { state in
            Self.remember(snapshot, in: &state)
            guard var subscriber = state.subscribers[id], subscriber.sentVersion == nil else { return }
            if lastEventID == snapshot.version {
                subscriber.sentVersion = snapshot.version
                state.subscribers[id] = subscriber
                return
            }
            send(frame, version: snapshot.version, terminal: snapshot.job.status.isTerminal, to: id, in: &state)
        }
    }

    /// Queues a frame for an organization stream (its `ready` or `resync` frames).
    func send(_ frame: ByteBuffer, to id: Int) {
        locked { state in _ = Self.yield(frame, last: false, to: id, in: &state) }
    }

    // MARK: Signals

    func handle(_ signal: JobChangeSignal) {
        switch signal {
        case .committed(let snapshot):
            deliver(snapshot)
        case .notice(let organization, let jobID, let version):
            let key = JobKey(organization: organization, jobID: jobID)
            let wanted = state.withLockedValue { state in
                if let topic = state.topics[key] { return topic.version != version }
                return state.organizations[organization] != nil
            }
            if wanted { read(key) }
        case .resync(let reason):
            if reason == .reconnected { metrics?.listenerReconnected() }
            let (keys, organizationStreams) = state.withLockedValue { state in
                (Array(state.topics.keys), state.organizations.values.flatMap { $0 })
            }
            let frame = Self.frame(event: "resync", data: #"{"reason":"\#(reason.rawValue)"}"#)
            for id in organizationStreams { send(frame, to: id) }
            for key in keys { read(key) }
        }
    }

    /// Reads one job for everyone here who watches it; a read asked for while one is in flight
    /// runs once more after it (so the newest state is always read last).
    func read(_ key: JobKey) {
        let start = state.withLockedValue { state -> Bool in
            if state.reads[key] != nil {
                state.reads[key] = true
                return false
            }
            state.reads[key] = false
            return true
        }
        guard start else { return }
        Task {
            var again = true
            while again {
                do {
                    if let snapshot = try await storage.snapshot(key.jobID, in: key.organization) {
                        deliver(snapshot)
                    }
                } catch {
                    logger.warning("live streams: could not read a changed job", metadata: ["error": "\(error)"])
                }
                again = state.withLockedValue { state in
                    if state.reads[key] == true {
                        state.reads[key] = false
                        return true
                    }
                    state.reads[key] = nil
                    return false
                }
            }
        }
    }

    /// Sends a committed state to the job's streams and the organization's streams that match.
    func deliver(_ snapshot: JobSnapshot) {
        let job = snapshot.job
        let key = JobKey(organization: job.organizationID, jobID: job.jobID)
        let (watched, listed) = state.withLockedValue { state in
            (state.topics[key] != nil, state.organizations[key.organization] != nil)
        }
        guard watched || listed else { return }
        let jobFrame = watched ? Self.jobFrame(snapshot, stallAfter: settings.stallAfter) : nil
        let summaryFrame =
            listed
            ? Self.frame(
                event: "job", id: job.jobID + "/" + snapshot.version,
                data: JobJSON.summary(job, now: Date(), stallAfter: settings.stallAfter).compactJSON) : nil
        locked { state in
            guard Self.remember(snapshot, in: &state) else { return }
            if let jobFrame, let topic = state.topics[key] {
                for id in topic.subscribers {
                    send(jobFrame, version: snapshot.version, terminal: job.status.isTerminal, to: id, in: &state)
                }
            }
            if let summaryFrame, let streams = state.organizations[key.organization] {
                for id in streams {
                    guard case .organization(let statuses, let jobType) = state.subscribers[id]?.kind,
                        statuses.isEmpty || statuses.contains(job.status), jobType == nil || jobType == job.jobType
                    else { continue }
                    if Self.yield(summaryFrame, last: false, to: id, in: &state) { metrics?.liveEventSent() }
                }
            }
        }
    }

    /// Records a job's newest state; false when `snapshot` is older than what was seen.
    @discardableResult
    private static func remember(_ snapshot: JobSnapshot, in state: inout State) -> Bool {
        let key = JobKey(organization: snapshot.job.organizationID, jobID: snapshot.job.jobID)
        guard var topic = state.topics[key] else { return true }
        if let seen = topic.updatedAt, snapshot.job.updatedAt < seen { return false }
        if topic.version != snapshot.version { topic.lastChange = .now }
        topic.version = snapshot.version
        topic.updatedAt = snapshot.job.updatedAt
        state.topics[key] = topic
        return true
    }

    /// A job stream's frame, once per version; a terminal one ends the stream.
    private func send(_ frame: ByteBuffer, version: String, terminal: Bool, to id: Int, in state: inout State) {
        guard var subscriber = state.subscribers[id], subscriber.sentVersion != version else { return }
        subscriber.sentVersion = version
        state.subscribers[id] = subscriber
        if Self.yield(frame, last: terminal, to: id, in: &state) { metrics?.liveEventSent() }
        if terminal, case .job(let jobID) = subscriber.kind {
            // Its handler ends the response after this frame; it is no longer a subscriber.
            let key = JobKey(organization: subscriber.organization, jobID: jobID)
            state.topics[key]?.subscribers.remove(id)
        }
    }

    /// Queues a frame; a stream whose queue is full is ended (true: queued).
    private static func yield(_ frame: ByteBuffer, last: Bool, to id: Int, in state: inout State) -> Bool {
        guard let subscriber = state.subscribers[id] else { return false }
        switch subscriber.continuation.yield(.frame(frame, last: last)) {
        case .enqueued: return true
        case .dropped, .terminated:
            // Too far behind (or gone): end it rather than buffer more.
            state.remove(id)
            return false
        @unknown default: return false
        }
    }

    // MARK: Service

    func run() async throws {
        let heartbeat = Self.comment("heartbeat")
        let interval = settings.heartbeat
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let (ids, silent) = state.withLockedValue { state in
                    let now = ContinuousClock.now
                    return (
                        Array(state.subscribers.keys),
                        state.topics.filter { now - $0.value.lastChange >= interval }.map(\.key)
                    )
                }
                for id in ids { send(heartbeat, to: id) }
                for key in silent { read(key) }
            }
        }
        close()
    }

    /// Ends every stream (after the frames already queued) and refuses new ones.
    func close() {
        let continuations = state.withLockedValue { state in
            state.closed = true
            return state.subscribers.values.map(\.continuation)
        }
        for continuation in continuations { continuation.finish() }
    }

    // MARK: Frames

    static func jobFrame(_ snapshot: JobSnapshot, stallAfter: Duration) -> ByteBuffer {
        frame(
            event: "job", id: snapshot.version,
            data: JobJSON.job(snapshot.job, events: snapshot.recent, now: Date(), stallAfter: stallAfter).compactJSON)
    }

    /// `event:`, `id:` and one `data:` line (compact JSON has no newline), then a blank line.
    static func frame(event: String, id: String? = nil, data: String) -> ByteBuffer {
        var text = "event: \(event)\n"
        if let id { text += "id: \(id)\n" }
        text += "data: \(data)\n\n"
        return ByteBuffer(string: text)
    }

    static func comment(_ text: String) -> ByteBuffer { ByteBuffer(string: ": \(text)\n\n") }
}
