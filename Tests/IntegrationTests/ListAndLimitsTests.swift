import Foundation
import HTTPTypes
import JobsHTTP
import LibPQ
import NIOCore
import Testing

@testable import JobsDomain
@testable import JobsStore

/// A fresh organization with an editor key, for tests that need to control every job in it.
func freshOrganization() async throws -> (org: String, headers: HTTPFields) {
    let owner = try TestDatabase.ownerClient(maxConnections: 1)
    let admin = AdminService(database: Database(client: owner))
    let org = TestDatabase.uniqueID("org_list")
    try await admin.createOrganization(org, name: nil)
    let key = try await admin.createAPIKey(organization: org, name: "k", role: .editor)
    await owner.shutdown()
    return (org, h(["Authorization": "Bearer \(key)"]))
}

@Suite("Listing (spec §3)")
struct ListTests {
    @Test func cursorWalkVisitsEveryJobOnceNewestFirst() async throws {
        try await withAPI { (http, _) async throws in
            let (_, headers) = try await freshOrganization()
            var created: [String] = []
            for i in 0..<120 { created.append(try await http.createJob(headers, total: i)) }
            var seen: [String] = []
            var cursor: String? = nil
            var pages = 0
            repeat {
                let uri = "/api/jobs/?limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await http.call(.get, uri, headers: headers)
                #expect(page.status == 200)
                let items = try #require(page["items"] as? [[String: Any]])
                #expect(items.count <= 7)
                #expect(items.allSatisfy { $0["errors"] == nil && $0["warnings"] == nil })
                seen += items.compactMap { $0["job_id"] as? String }
                cursor = page["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 100
            #expect(pages == 18)
            #expect(seen.count == 120)
            #expect(Set(seen).count == 120)
            #expect(seen == created.reversed(), "newest first")
        }
    }

    /// Every limit shares one statement text, so a client sweeping `limit=1...200` cannot make
    /// each pooled connection prepare (and keep) one statement per value.
    @Test func listLimitIsBoundNotWrittenIntoTheSQL() async throws {
        try await TestDatabase.migrated()
        let (org, _) = try await freshOrganization()
        let client = try await TestDatabase.appClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let repository = JobRepository(database: Database(client: client))
        for limit in 1...60 {
            var filter = ListFilter()
            filter.limit = limit
            _ = try await repository.list(filter, in: org)
        }
        let prepared = try await client.query("SELECT count(*) AS n FROM pg_prepared_statements").first!
            .decode("n", as: Int.self)
        #expect(prepared <= 4, "\(prepared) prepared statements after 60 different limits")
    }

    @Test func filters() async throws {
        try await withAPI { (http, _) async throws in
            let (_, headers) = try await freshOrganization()
            let a = try await http.createJob(headers, type: "import")
            let b = try await http.createJob(headers, type: "export")
            let c = try await http.createJob(headers, type: "import", extra: #", "triggered_by": "cron""#)
            _ = try await http.progress(headers, b, #"{"mark_started": true}"#)
            _ = try await http.progress(headers, c, #"{"mark_failed": "x"}"#)
            func ids(_ query: String) async throws -> [String] {
                let page = try await http.call(.get, "/api/jobs/?\(query)", headers: headers)
                #expect(page.status == 200, "\(query): \(page.text)")
                return ((page["items"] as? [[String: Any]]) ?? []).compactMap { $0["job_id"] as? String }
            }
            #expect(try await ids("job_type=import") == [c, a])
            #expect(try await ids("status=in_progress") == [b])
            #expect(try await ids("status=pending,failed") == [c, a])
            #expect(try await ids("status=pending&status=in_progress") == [b, a])
            #expect(try await ids("triggered_by=cron") == [c])
            let all = try await http.call(.get, "/api/jobs/", headers: headers)
            let items = try #require(all["items"] as? [[String: Any]])
            let bCreated = try #require(items.first { $0["job_id"] as? String == b }?["created_at"] as? String)
            #expect(try await ids("created_after=\(bCreated)").contains(b), "created_after is inclusive")
            #expect(try await !ids("created_before=\(bCreated)").contains(b), "created_before is exclusive")
            #expect(try await ids("created_before=2000-01-01T00:00:00Z").isEmpty)
            #expect(try await ids("created_after=2000-01-01T00:00:00%2B02:00").count == 3)
            #expect(try await ids("limit=200").count == 3)
        }
    }

    @Test(arguments: [
        "status=running", "status=", "limit=0", "limit=201", "limit=ten", "created_after=yesterday",
        "created_before=2026-13-01T00:00:00Z", "cursor=not-a-cursor", "created_after=2026-11-29T04:40:00",
    ])
    func badQueriesAre422(query: String) async throws {
        try await withAPI { (http, t) async throws in
            let response = try await http.call(.get, "/api/jobs/?\(query)", headers: t.editorA)
            #expect(response.status == 422, "\(query): \(response.text)")
            let name = String(query.split(separator: "=")[0])
            #expect(response.hasIssue("query.\(name)"), "\(response.text)")
        }
    }
}

@Suite("Validation and limits (spec §6)")
struct LimitsTests {
    @Test func malformedJSONIs422JSONInvalid() async throws {
        try await withAPI { (http, t) async throws in
            for body in ["{", "{\"job_type\": }", "[1,]", "{\"a\":1}{", "NaN", "{\"total_items\": Infinity}"] {
                let r = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: body)
                #expect(r.status == 422, "\(body)")
                #expect(r.issues.first?.type == "json_invalid", "\(body): \(r.text)")
                #expect(r.issues.first?.loc.hasPrefix("body") == true)
            }
        }
    }

    @Test func hostileJSONIsA4xxNeverACrash() async throws {
        try await withAPI { (http, t) async throws in
            let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
            let nested = #"{"job_type": "x", "total_items": 1, "metadata": {"a": "# + deep + "}}"
            #expect(try await http.call(.post, "/api/jobs/", headers: t.editorA, json: nested).status == 422)
            let duplicate = #"{"job_type": "x", "job_type": "y", "total_items": 1}"#
            #expect(try await http.call(.post, "/api/jobs/", headers: t.editorA, json: duplicate).status == 422)
            let nul = #"{"job_type": "a\u0000b", "total_items": 1}"#
            let nulResponse = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: nul)
            #expect(nulResponse.status == 422)
            #expect(nulResponse.hasIssue("body.job_type"))
            let nulKey = #"{"job_type": "x", "total_items": 1, "metadata": {"k\u0000": 1}}"#
            #expect(try await http.call(.post, "/api/jobs/", headers: t.editorA, json: nulKey).status == 422)
            let huge = #"{"job_type": "x", "total_items": 1e999999}"#
            #expect(try await http.call(.post, "/api/jobs/", headers: t.editorA, json: huge).status == 422)
            // Past ±(2^53 − 1) an integer is refused where it would be stored (hardening item 1).
            let hugeMeta = #"{"job_type": "x", "total_items": 1, "metadata": {"n": 123456789012345678901234567890}}"#
            let hugeMetaResponse = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: hugeMeta)
            #expect(hugeMetaResponse.status == 422)
            #expect(hugeMetaResponse.hasIssue("body.metadata.n", "value_error"))
            var invalidUTF8 = ByteBuffer(string: #"{"job_type": ""#)
            invalidUTF8.writeBytes([0xC3, 0x28])
            invalidUTF8.writeString(#"", "total_items": 1}"#)
            var headers = t.editorA
            headers[.contentType] = "application/json"
            let response = try await http.execute(uri: "/api/jobs/", method: .post, headers: headers, body: invalidUTF8)
            #expect(response.status.code == 422)
        }
    }

    @Test func strictTypesAndUnknownFields() async throws {
        try await withAPI { (http, t) async throws in
            let cases: [(String, String, String)] = [
                (#"{"job_type": "x", "total_items": "5"}"#, "body.total_items", "int_type"),
                (#"{"job_type": "x", "total_items": 5.0}"#, "body.total_items", "int_type"),
                (#"{"job_type": "x", "total_items": true}"#, "body.total_items", "int_type"),
                (#"{"job_type": "x", "total_items": -1}"#, "body.total_items", "greater_than_equal"),
                (#"{"job_type": "x", "total_items": 9007199254740992}"#, "body.total_items", "less_than_equal"),
                (#"{"job_type": "", "total_items": 1}"#, "body.job_type", "string_too_short"),
                (#"{"job_type": 5, "total_items": 1}"#, "body.job_type", "string_type"),
                (#"{"total_items": 1}"#, "body.job_type", "missing"),
                (#"{"job_type": "x"}"#, "body.total_items", "missing"),
                (#"{"job_type": "x", "total_items": 1, "metdata": {}}"#, "body.metdata", "extra_forbidden"),
                (#"{"job_type": "x", "total_items": 1, "metadata": []}"#, "body.metadata", "dict_type"),
                (#"[1, 2]"#, "body", "model_attributes_type"),
            ]
            for (body, loc, type) in cases {
                let r = try await http.call(.post, "/api/jobs/", headers: t.editorA, json: body)
                #expect(r.status == 422, "\(body)")
                #expect(r.hasIssue(loc, type), "\(body): \(r.text)")
            }
            let long = String(repeating: "é", count: 101)
            #expect(
                try await http.call(
                    .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "\#(long)", "total_items": 1}"#
                ).hasIssue("body.job_type", "string_too_long"))
            let fits = String(repeating: "é", count: 100)
            #expect(
                try await http.call(
                    .post, "/api/jobs/", headers: t.editorA,
                    json: #"{"job_type": "\#(fits)", "total_items": 9007199254740991}"#
                ).status == 201)
            let id = try await http.createJob(t.editorA)
            let progressCases: [(String, String)] = [
                (#"{"processed_items": "1"}"#, "body.processed_items"),
                (#"{"mark_started": "yes"}"#, "body.mark_started"),
                (#"{"mark_completed": 1}"#, "body.mark_completed"),
                (#"{"stage": "\#(String(repeating: "s", count: 101))"}"#, "body.stage"),
                (#"{"message": "\#(String(repeating: "m", count: 10_001))"}"#, "body.message"),
                (#"{"mark_failed": "\#(String(repeating: "m", count: 10_001))"}"#, "body.mark_failed"),
                (#"{"procesed_items": 1}"#, "body.procesed_items"),
                (#"{"metadata_patch": "x"}"#, "body.metadata_patch"),
                (
                    #"{"error": {"entity_key": "\#(String(repeating: "k", count: 1025))", "error_type": "e", "message": "m"}}"#,
                    "body.error.entity_key"
                ),
                (#"{"error": {"entity_key": "k", "error_type": "e", "message": "m", "step": ""}}"#, "body.error.step"),
                (#"{"error": "boom"}"#, "body.error"),
            ]
            for (body, loc) in progressCases {
                let r = try await http.progress(t.editorA, id, body)
                #expect(r.status == 422, "\(body.prefix(80))")
                #expect(r.hasIssue(loc), "\(body.prefix(80)): \(r.text.prefix(300))")
            }
            let unchanged = try await http.call(.get, "/api/jobs/\(id)", headers: t.editorA)
            #expect(int(unchanged["processed_items"]) == 0, "a rejected request applies nothing")
        }
    }

    @Test func sizeLimits() async throws {
        try await withAPI { (http, t) async throws in
            let big = String(repeating: "x", count: 262_144)
            let tooBig = try await http.call(
                .post, "/api/jobs/", headers: t.editorA,
                json: #"{"job_type": "x", "total_items": 1, "metadata": {"a": "\#(big)"}}"#)
            #expect(tooBig.status == 422)
            let id = try await http.createJob(t.editorA)
            let half = String(repeating: "y", count: 200_000)
            #expect(try await http.progress(t.editorA, id, #"{"metadata_patch": {"a": "\#(half)"}}"#).status == 200)
            let merged = try await http.progress(t.editorA, id, #"{"metadata_patch": {"b": "\#(half)"}}"#)
            #expect(merged.status == 422, "the merged metadata would exceed 256 KiB")
            #expect(merged.hasIssue("body.metadata_patch"))
            let details = String(repeating: "d", count: 16_384)
            let bigDetails = try await http.progress(
                t.editorA, id,
                #"{"error": {"entity_key": "k", "error_type": "e", "message": "m", "details": {"d": "\#(details)"}}}"#)
            #expect(bigDetails.status == 422)
            #expect(bigDetails.hasIssue("body.error.details"))
            let overMiB = String(repeating: "z", count: 1_048_577)
            let huge = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "\#(overMiB)"}"#)
            #expect(huge.status == 413)
            #expect(huge.detail != nil)
        }
    }

    @Test func contentTypeAndEmptyBodies() async throws {
        try await withAPI { (http, t) async throws in
            let text = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "x", "total_items": 1}"#,
                contentType: "text/plain")
            #expect(text.status == 415)
            let none = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "x", "total_items": 1}"#, contentType: nil
            )
            #expect(none.status == 415)
            let charset = try await http.call(
                .post, "/api/jobs/", headers: t.editorA, json: #"{"job_type": "x", "total_items": 1}"#,
                contentType: "application/json; charset=utf-8")
            #expect(charset.status == 201)
            let emptyCreate = try await http.call(.post, "/api/jobs/", headers: t.editorA)
            #expect(emptyCreate.status == 422)
            #expect(emptyCreate.hasIssue("body", "missing"))
            let id = try await http.createJob(t.editorA)
            #expect(try await http.call(.post, "/api/jobs/\(id)/progress", headers: t.editorA).status == 422)
            #expect(
                try await http.call(
                    .post, "/api/jobs/\(id)/cancel", headers: t.editorA, json: "reason", contentType: "text/plain"
                ).status == 415)
            #expect(try await http.call(.post, "/api/jobs/\(id)/cancel", headers: t.editorA).status == 200)
        }
    }

    /// Crafted, out-of-range, foreign and random cursors: every one is a 422 at query.cursor (or a
    /// normal page when it happens to be valid) — never a 500.
    @Test func craftedAndRandomCursorsAreA422() async throws {
        try await withAPI { (http, t) async throws in
            let id = try await http.createJob(t.editorA)
            let other = try await http.createJob(t.editorA)
            for i in 0..<3 {
                _ = try await http.progress(
                    t.editorA, id, #"{"error": {"entity_key": "k\#(i)", "error_type": "e", "message": "m"}}"#)
            }
            func b64(_ text: String) -> String {
                Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                    .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            }
            let errorsPage = try await http.call(.get, "/api/jobs/\(id)/errors?limit=1", headers: t.editorA)
            let errorsCursor = try #require(errorsPage["next_cursor"] as? String)
            var crafted = [
                b64("j1|-9223372036854775808|job_x"), b64("j1|9223372036854775807|job_x"), b64("j1|-1|job_x"),
                b64("j1|1795927572123456|job x"), b64("j1|1795927572123456|"), b64("e1|5"), b64("e2|error|-1|\(id)"),
                b64("e2|error|99999999999999999999|\(id)"), "%00", "not-a-cursor", String(repeating: "A", count: 600),
            ]
            var rng = UInt64(0x1234_5678)
            for _ in 0..<150 {
                rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let n = Int64(bitPattern: rng)
                crafted.append(b64("j1|\(n)|job_\(rng >> 40)"))
                crafted.append(b64("e2|error|\(n)|\(id)"))
                crafted.append(String(String(rng, radix: 36).shuffled()))
            }
            for cursor in crafted {
                let escaped = cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor
                for path in ["/api/jobs/", "/api/jobs/\(id)/errors", "/api/jobs/\(id)/warnings"] {
                    let r = try await http.call(.get, "\(path)?cursor=\(escaped)", headers: t.editorA)
                    #expect(r.status == 422 || r.status == 200, "\(path) cursor \(cursor): \(r.status) \(r.text)")
                    if r.status == 422 { #expect(r.hasIssue("query.cursor"), "\(r.text)") }
                }
            }
            // Foreign: an errors cursor on the warnings page, on another job's errors, or on the list.
            for path in ["/api/jobs/\(id)/warnings", "/api/jobs/\(other)/errors", "/api/jobs/"] {
                let r = try await http.call(.get, "\(path)?cursor=\(errorsCursor)", headers: t.editorA)
                #expect(r.status == 422, "\(path): \(r.text)")
                #expect(r.hasIssue("query.cursor"))
            }
            let next = try await http.call(
                .get, "/api/jobs/\(id)/errors?limit=1&cursor=\(errorsCursor)", headers: t.editorA)
            #expect(next.status == 200)
        }
    }
}

@Suite("OpenAPI document over HTTP")
struct OpenAPIDocumentTests {
    @Test func servedOverHTTP() async throws {
        try await withAPI { (http, _) async throws in
            let response = try await http.call(.get, "/openapi.json")
            #expect(response.status == 200)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response["openapi"] as? String != nil)
        }
    }
}
