import NIOPosix

extension NIOThreadPool {
    /// Runs blocking work on the pool and awaits its result. Unlike `runIfActive`, the work is
    /// not skipped when the awaiting task is cancelled: rollbacks and connection cleanup must
    /// still happen, and query cancellation is done with `PQcancel` instead.
    func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit { state in
                guard case .active = state else {
                    continuation.resume(
                        throwing: PGError(code: .poolClosed, message: "the connection pool is shut down"))
                    return
                }
                continuation.resume(with: Result(catching: body))
            }
        }
    }
}
