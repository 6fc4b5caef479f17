public import JobsDomain
public import LibPQ
public import ServiceLifecycle

/// How committed job changes reach live streams, here and on every other instance of the
/// service sharing the database.
///
/// After a commit, storage calls `committed(_:)`: the snapshot goes at once to this process's
/// hub (through `feed`, so its subscribers need no read), and a notice with ids and the version
/// only goes to the batched `ChangePublisher` (one `pg_notify` per 10 ms, see why there). Other
/// instances hear it through their `ChangeListener` and read the job once for all their
/// subscribers of it.
public final class LiveChanges: Sendable {
    public let feed: ChangeFeed
    /// This process's id in notices, so that it ignores its own.
    public let instance: String
    let publisher: ChangePublisher?

    public init(
        feed: ChangeFeed = ChangeFeed(), instance: String = LiveChanges.newInstanceID(), publisher: ChangePublisher?
    ) {
        self.feed = feed
        self.instance = instance
        self.publisher = publisher
    }

    /// 12 random hex digits.
    public static func newInstanceID() -> String {
        String(UInt64.random(in: 0..<(1 << 48)), radix: 16)
    }

    public func committed(_ snapshot: JobSnapshot) {
        feed.emit(.committed(snapshot))
        publisher?.publish(
            ChangeNotice(
                organizationID: snapshot.job.organizationID, jobID: snapshot.job.jobID, version: snapshot.version,
                instance: instance))
    }
}

/// The one `LISTEN` connection of an instance: runs `listener` and turns what it hears into
/// `JobChangeSignal`s on `feed` — other instances' notices (this one's own are skipped: its
/// subscribers have them already), and a resync whenever notices may have been missed.
public struct ChangeListener: Service {
    public let listener: PGListener
    let feed: ChangeFeed
    let instance: String

    public init(listener: PGListener, live: LiveChanges) {
        self.listener = listener
        self.feed = live.feed
        self.instance = live.instance
    }

    public func run() async throws {
        let events = listener.notifications(bufferSize: 8_192)
        var started = false
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await listener.run() }
            for await event in events {
                switch event {
                case .notification(let notification):
                    for notice in ChangeNotice.parse(notification.payload) where notice.instance != instance {
                        feed.emit(
                            .notice(
                                organizationID: notice.organizationID, jobID: notice.jobID, version: notice.version))
                    }
                case .reconnected:
                    feed.emit(.resync(started ? .reconnected : .started))
                    started = true
                case .overflowed: feed.emit(.resync(.overflowed))
                }
            }
        }
    }
}
