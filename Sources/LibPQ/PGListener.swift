import Logging
import NIOConcurrencyHelpers
import NIOPosix
import ServiceLifecycle

/// LISTEN/NOTIFY on one dedicated connection, fanned out in-process through an `AsyncStream`.
///
/// Run it as a `Service` (or call `run()` in a task): it connects, listens on its channels,
/// delivers every notification to `notifications`, and reconnects with backoff if the
/// connection drops (notifications sent while it was down are lost, as with any LISTEN).
public final class PGListener: Service, Sendable {
    public let channels: [String]
    /// Every notification received, in order.
    public let notifications: AsyncStream<PGNotification>
    private let continuation: AsyncStream<PGNotification>.Continuation
    private let configuration: PGConfiguration
    private let logger: Logger
    private let stopped = NIOLockedValueBox(false)
    private let listening = NIOLockedValueBox(false)

    public init(configuration: PGConfiguration, channels: [String], logger: Logger = Logger(label: "libpq.listen")) {
        var configuration = configuration
        configuration.maxConnections = 1
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        (notifications, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    /// True once LISTEN has been issued on a live connection.
    public var isListening: Bool { listening.withLockedValue { $0 } }

    /// Listens until the task is cancelled or graceful shutdown begins.
    public func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        defer { thread.shutdownGracefully { _ in } }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await thread.runIfActive { self.loop() }
            } onCancel: {
                self.stop()
            }
        } onGracefulShutdown: {
            self.stop()
        }
        continuation.finish()
    }

    /// Stops the loop (it notices within a quarter of a second).
    public func stop() {
        stopped.withLockedValue { $0 = true }
    }

    private var isStopped: Bool { stopped.withLockedValue { $0 } }

    // Runs on the listener's own thread: blocking is fine here.
    private func loop() {
        var backoffMilliseconds: UInt32 = 100
        while !isStopped {
            do {
                let connection = try PGConnection(configuration: configuration)
                for channel in channels { try connection.listen(channel) }
                listening.withLockedValue { $0 = true }
                backoffMilliseconds = 100
                while !isStopped {
                    for notification in try connection.waitForNotifications(timeoutMilliseconds: 250) {
                        continuation.yield(notification)
                    }
                }
            } catch {
                listening.withLockedValue { $0 = false }
                logger.warning("LISTEN connection failed; reconnecting", metadata: ["error": "\(error)"])
                var waited: UInt32 = 0
                while waited < backoffMilliseconds, !isStopped {
                    usleep(50_000)
                    waited += 50
                }
                backoffMilliseconds = min(backoffMilliseconds * 2, 5_000)
            }
        }
        listening.withLockedValue { $0 = false }
    }
}
