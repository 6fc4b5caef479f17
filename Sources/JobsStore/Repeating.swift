import ServiceLifecycle

/// Runs `work` every `interval` until graceful shutdown (the in-server janitor and prune
/// schedule). With `runFirst`, the first run starts at once; otherwise after one interval.
/// `work` handles its own errors: a failed run does not stop the next.
struct Repeating: Service {
    let interval: Duration
    let runFirst: Bool
    let work: @Sendable () async -> Void

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            if !runFirst { try await Task.sleep(for: interval) }
            while !Task.isCancelled {
                await work()
                try await Task.sleep(for: interval)
            }
        }
    }
}
