import NIOConcurrencyHelpers
public import ServiceLifecycle

/// Whether the server has begun draining (graceful shutdown). `/readyz` answers `503` from
/// that moment so a load balancer stops sending new work.
public final class DrainState: Sendable {
    private let state = NIOLockedValueBox((draining: false, actions: [@Sendable () -> Void]()))
    public init() {}
    public var isDraining: Bool { state.withLockedValue { $0.draining } }

    /// Runs `action` when draining begins (at once if it has begun): live streams end then, so
    /// that the server's own graceful shutdown, which waits for open responses, is not held up.
    func whenDraining(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLockedValue { state in
            if !state.draining { state.actions.append(action) }
            return state.draining
        }
        if now { action() }
    }

    func begin() {
        let actions = state.withLockedValue { state in
            defer { state.actions = [] }
            state.draining = true
            return state.actions
        }
        for action in actions { action() }
    }
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
