import NIOConcurrencyHelpers
public import ServiceLifecycle

/// Whether the server has begun draining (graceful shutdown). `/readyz` answers `503` from
/// that moment so a load balancer stops sending new work.
public final class DrainState: Sendable {
    private let draining = NIOLockedValueBox(false)
    public init() {}
    public var isDraining: Bool { draining.withLockedValue { $0 } }
    func begin() { draining.withLockedValue { $0 = true } }
}

/// A service that flips `DrainState` when graceful shutdown starts. Place it after the
/// application in the service group: groups shut down in reverse order, so it goes first.
public struct DrainMonitor: Service {
    let state: DrainState
    public init(state: DrainState) { self.state = state }

    public func run() async throws {
        try? await gracefulShutdown()
        state.begin()
    }
}
