import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which addresses a webhook may reach: not loopback, link-local, private, shared (CGNAT),
/// multicast or unspecified ones, unless the host or the address is listed in
/// `WEBHOOK_ALLOWED_HOSTS`. Checked on the resolved addresses at every delivery, so a name that
/// later points inside the network is refused then.
struct AddressPolicy: Sendable {
    var allowedHosts: Set<String>

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// Throws `Refused` when `host` may not be reached (or does not resolve).
    func check(host: String) async throws {
        let name = Self.normalize(host)
        if allowedHosts.contains(name) { return }
        let addresses = try await Self.resolve(name)
        guard !addresses.isEmpty else { throw Refused(description: "\(name) does not resolve") }
        for address in addresses where Self.isInternal(address) && !allowedHosts.contains(address) {
            throw Refused(
                description:
                    "\(name) resolves to \(address), a loopback, link-local or private address (allow it with WEBHOOK_ALLOWED_HOSTS)"
            )
        }
    }

    /// Lowercased, without IPv6 brackets.
    static func normalize(_ host: String) -> String {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        return name
    }

    /// The numeric addresses `host` resolves to (getaddrinfo, on NIO's blocking pool). The
    /// blocking call cannot be interrupted (an unknown name can take seconds without a DNS
    /// answer), so the caller stops waiting when its task is cancelled — a server shutting down
    /// must not wait for it — and the lookup finishes on its own in the background.
    static func resolve(_ host: String) async throws -> [String] {
        let outcome = Mutex<(done: Bool, continuation: CheckedContinuation<[String], any Error>?)>((false, nil))
        let finish: @Sendable (Result<[String], any Error>) -> Void = { result in
            let continuation = outcome.withLock { state -> CheckedContinuation<[String], any Error>? in
                guard !state.done else { return nil }
                state.done = true
                defer { state.continuation = nil }
                return state.continuation
            }
            continuation?.resume(with: result)
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[String], any Error>) in
                let cancelled = outcome.withLock { state -> Bool in
                    if state.done { return true }
                    state.continuation = continuation
                    return false
                }
                if cancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                Task.detached {
                    do {
                        finish(.success(try await lookup(host)))
                    } catch {
                        finish(.failure(error))
                    }
                }
            }
        } onCancel: {
            // Marks it done (resuming the waiter if it is already waiting).
            finish(.failure(CancellationError()))
        }
    }

    private static func lookup(_ host: String) async throws -> [String] {
        try await NIOThreadPool.singleton.runIfActive {
            // No hints (no C struct to build here): every socket type comes back; addresses are
            // deduplicated below.
            var list: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, nil, nil, &list)
            guard rc == 0, let first = list else {
                throw Refused(description: "\(host) does not resolve")
            }
            defer { freeaddrinfo(first) }
            var result: [String] = []
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let current = node {
                var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(
                    current.pointee.ai_addr, current.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0,
                    NI_NUMERICHOST) == 0
                {
                    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    if !result.contains(text) { result.append(text) }
                }
                node = current.pointee.ai_next
            }
            return result
        }
    }

    /// True for addresses a webhook must not reach by default.
    static func isInternal(_ address: String) -> Bool {
        if let v4 = ipv4(address) { return isInternalV4(v4) }
        guard let v6 = ipv6(address) else { return true }  // unparsable: refuse
        let allZero = v6.allSatisfy { $0 == 0 }
        if allZero { return true }  // ::
        if v6[0..<15].allSatisfy({ $0 == 0 }) && v6[15] == 1 { return true }  // ::1
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xff && v6[11] == 0xff {  // ::ffff:a.b.c.d
            return isInternalV4(Array(v6[12..<16]))
        }
        if v6[0] == 0xfe && v6[1] & 0xc0 == 0x80 { return true }  // fe80::/10 link-local
        if v6[0] & 0xfe == 0xfc { return true }  // fc00::/7 unique local
        if v6[0] == 0xff { return true }  // multicast
        if v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b {  // 64:ff9b::/96 NAT64
            return isInternalV4(Array(v6[12..<16]))
        }
        return false
    }

    static func isInternalV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1]) {
        case (0, _), (10, _), (127, _): return true
        case (169, 254): return true
        case (172, 16...31): return true
        case (192, 168): return true
        case (100, 64...127): return true  // shared address space (CGNAT)
        case (192, 0) where b[2] == 0: return true  // IETF protocol assignments
        case (198, 18...19): return true  // benchmarking
        case (224...255, _): return true  // multicast, reserved, broadcast
        default: return false
        }
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 4)
        guard inet_pton(AF_INET, text, &bytes) == 1 else { return nil }
        return bytes
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        let bare = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        guard inet_pton(AF_INET6, bare, &bytes) == 1 else { return nil }
        return bytes
    }
}
