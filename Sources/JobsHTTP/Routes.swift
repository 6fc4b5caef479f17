import Foundation
import HTTPTypes
import Hummingbird
import JobsDomain

/// One row of the route table: method, path as the OpenAPI document writes it, the permission
/// an `/api` route requires (checked after tenancy, before the body is read), and the handler.
struct Route: Sendable {
    typealias Handler = @Sendable (Request, AppRequestContext) async throws -> Response
    var method: HTTPRequest.Method
    var path: String
    var permission: Permission?
    var handler: Handler
}

/// The route table drives registration, the `405` answers and the list a test compares with
/// the OpenAPI document.
enum RouteTable {
    /// Registers `routes` on `router` (paths relative to it: `prefix` is removed from each
    /// document path), and answers the other usual methods of each path with `405` + `Allow`.
    static func register(_ routes: [Route], prefix: String = "", on router: some RouterMethods<AppRequestContext>) {
        var allowed: [String: [HTTPRequest.Method]] = [:]
        var order: [String] = []
        for route in routes {
            let path = routerPath(route.path, prefix: prefix)
            if allowed[path] == nil { order.append(path) }
            allowed[path, default: []].append(route.method)
            let permission = route.permission
            let handler = route.handler
            router.on(RouterPath(path), method: route.method) { request, context in
                if let permission {
                    let tenant = try context.requireTenant()
                    try tenant.require(permission)
                }
                return try await handler(request, context)
            }
        }
        let usual: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        for path in order {
            let methods = allowed[path]!
            let names = methods.map(\.rawValue)
            for method in usual where !methods.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw APIError.methodNotAllowed(allowed: names)
                }
            }
        }
    }

    /// `/api/jobs/{job_id}/status` → `jobs/:job_id/status` (relative to the `/api` group).
    static func routerPath(_ documentPath: String, prefix: String) -> String {
        var path = documentPath.replacingOccurrences(of: "{job_id}", with: ":job_id")
            .replacingOccurrences(of: "{endpoint_id}", with: ":endpoint_id")
        if path.hasPrefix(prefix) { path.removeFirst(prefix.count) }
        while path.hasPrefix("/") { path.removeFirst() }
        while path.hasSuffix("/") { path.removeLast() }
        return path
    }
}
