import Foundation
import Testing

@testable import LibPQ

@Suite struct PGQueryTests {
    @Test func interpolationBindsEveryValue() {
        let id = "x'; DROP TABLE jobs; --"
        let limit = 5
        let query: PGQuery = "SELECT * FROM jobs WHERE job_id = \(id) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM jobs WHERE job_id = $1 LIMIT $2")
        #expect(query.binds == [PGBind(value: id, type: PGType.text), PGBind(value: "5", type: PGType.int8)])
        #expect(!query.description.contains("DROP"))
    }

    @Test func optionalNilBindsNull() {
        let name: String? = nil
        let query: PGQuery = "INSERT INTO t VALUES (\(name))"
        #expect(query.binds == [PGBind(value: nil, type: 0)])
    }

    @Test func unsafeRawInsertsText() {
        // Safety: a constant.
        let query: PGQuery = "SELECT \(unsafeRaw: "count(*)") FROM t WHERE a = \(true)"
        #expect(query.sql == "SELECT count(*) FROM t WHERE a = $1")
        #expect(query.binds.first?.value == "t")
    }

    @Test(arguments: [
        ("2026-11-29 04:46:12.123+00", 1_795_927_572.123),
        ("2026-11-29 04:46:12+00", 1_795_927_572.0),
        ("2026-11-29T04:46:12.5Z", 1_795_927_572.5),
        ("2026-11-29 06:46:12.123456+02", 1_795_927_572.123456),
        ("2026-11-28 23:16:12-05:30", 1_795_927_572.0),
    ])
    func parsesTimestamps(text: String, epoch: Double) throws {
        let date = try #require(PGTimestamp.parse(text))
        #expect(abs(date.timeIntervalSince1970 - epoch) < 0.000_001)
    }

    @Test(arguments: ["", "2026-11-29", "2026-11-29 04:46", "2026-13-29 04:46:12+00x", "garbage"])
    func rejectsBadTimestamps(text: String) {
        #expect(PGTimestamp.parse(text) == nil)
    }

    @Test func formatsTimestampsInUTCWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_795_927_572.123456)
        #expect(PGTimestamp.format(date) == "2026-11-29T04:46:12.123456Z")
        #expect(PGTimestamp.parse(PGTimestamp.format(date))! == date)
        #expect(PGTimestamp.format(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500000Z")
    }

    @Test func byteaRoundTrip() throws {
        let bytes = PGBytes([0, 1, 0x7f, 0x80, 0xff])
        #expect(bytes.pgBind.value == "\\x00017f80ff")
        #expect(PGBytes(pgText: "\\x00017f80FF", type: PGType.bytea) == bytes)
        #expect(PGBytes(pgText: "00017f", type: PGType.bytea) == nil)
        #expect(PGBytes(pgText: "\\x0g", type: PGType.bytea) == nil)
    }

    @Test func doubleSpecialValues() {
        #expect(Double.nan.pgBind.value == "NaN")
        #expect(Double.infinity.pgBind.value == "Infinity")
        #expect((-Double.infinity).pgBind.value == "-Infinity")
        #expect(Double(pgText: "1.5e+300", type: PGType.float8) == 1.5e300)
        #expect(Double(pgText: "-Infinity", type: PGType.float8) == -.infinity)
    }

    @Test func integerAndBoolDecoding() {
        #expect(Int64(pgText: "9007199254740991", type: PGType.int8) == 9_007_199_254_740_991)
        #expect(Int(pgText: "x", type: PGType.int8) == nil)
        #expect(Bool(pgText: "t", type: PGType.bool) == true)
        #expect(Bool(pgText: "f", type: PGType.bool) == false)
        #expect(Bool(pgText: "maybe", type: PGType.bool) == nil)
    }

    @Test func rowDecodingNamesTheColumn() throws {
        let rows = PGRows(
            columns: ["a", "b"], types: [PGType.int8, PGType.text], cells: [["1", nil]], commandTag: "SELECT 1")
        let row = try #require(rows.first)
        #expect(try row.decode("a", as: Int.self) == 1)
        #expect(try row.decode("b", as: String?.self) == nil)
        let nullError = #expect(throws: PGError.self) { try row.decode("b", as: String.self) }
        #expect(nullError?.code == .decoding)
        #expect(nullError?.column == "b")
        let typeError = #expect(throws: PGError.self) {
            _ = try PGRows(columns: ["n"], types: [PGType.text], cells: [["abc"]], commandTag: "").first!
                .decode("n", as: Int.self)
        }
        #expect(typeError?.column == "n")
        #expect(typeError?.description.contains("n") == true)
        let missing = #expect(throws: PGError.self) { try row.decode("nope", as: Int.self) }
        #expect(missing?.code == .usage)
        #expect(rows.affectedRows == 1)
    }
}

@Suite struct PGErrorTests {
    @Test func unavailableClassification() {
        #expect(PGError(code: .connection, message: "x").isUnavailable)
        #expect(PGError(code: .poolTimeout, message: "x").isUnavailable)
        #expect(PGError(code: .server, sqlState: .adminShutdown, message: "x").isUnavailable)
        #expect(PGError(code: .server, sqlState: SQLState(rawValue: "08006"), message: "x").isUnavailable)
        #expect(!PGError(code: .server, sqlState: .uniqueViolation, message: "x").isUnavailable)
        #expect(!PGError(code: .decoding, message: "x").isUnavailable)
    }

    @Test func descriptionCarriesStateButNoValues() {
        let error = PGError(
            code: .server, sqlState: .uniqueViolation, message: "duplicate key", detail: "Key (id)=(secret) exists",
            constraint: "jobs_pkey")
        #expect(error.description.contains("23505"))
        #expect(error.description.contains("jobs_pkey"))
        #expect(!error.description.contains("secret"))
    }

    @Test func passwordsAreScrubbedFromMessages() {
        let secrets = PGConnection.secrets(in: "postgres://bob:hunter2%21@db.internal:5432/app")
        #expect(secrets.contains("hunter2!"))
        let message = PGConnection.scrub("password authentication failed: hunter2! hunter2%21", secrets: secrets)
        #expect(!message.contains("hunter2"))
        let conninfo = PGConnection.secrets(in: "host=x password=s3cr3t dbname=y")
        #expect(conninfo.contains("s3cr3t"))
    }

    @Test func malformedConnectionStringErrorHidesIt() {
        let error = #expect(throws: PGError.self) {
            try PGConnection.validate(connectionString: "postgres://u:topsecret@h:5432/db?bogus=1")
        }
        #expect(error?.code == .connection)
        #expect(error?.message.contains("topsecret") == false)
    }

    /// Redaction by structure: whatever the encoding or quoting, no form of a password appears.
    @Test(arguments: [
        ("postgres://u:p%40ss-w0rd@h/db", "p@ss-w0rd"),
        ("postgresql://u:pa%20ss%3Aword@h:5432/db", "pa ss:word"),
        ("postgresql://u@h/db?password=q%26uery-pass", "q&uery-pass"),
        ("postgresql://u:plainpass@h/db?sslpassword=ssl-secret-1", "ssl-secret-1"),
        ("host=h dbname=db password='it\\'s q\\\\uoted'", "it's q"),
        ("host=h dbname=db password='sp ace pass\\\\x'", "sp ace pass"),
        ("host=h password=abcdefgh sslpassword='key pass 22'", "key pass 22"),
        ("host=h user=u password=ñøn-åscii-密码", "ñøn-åscii-密码"),
    ])
    func redactionMasksEveryFormOfThePassword(url: String, password: String) throws {
        let shown = PGConfiguration.redacted(url)
        #expect(shown.contains("********"), "\(shown)")
        #expect(shown.contains("host=h"), "the rest stays readable: \(shown)")
        let forms = [password, password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password]
        for form in forms where form.count >= 3 {
            #expect(!shown.contains(form), "\(url) shows \(shown)")
        }
        // No fragment of the original secret part survives either.
        if let range = url.range(
            of: ":", options: .backwards, range: url.startIndex..<(url.firstIndex(of: "@") ?? url.startIndex)),
            url.hasPrefix("postgres"), let at = url.firstIndex(of: "@"), range.upperBound < at
        {
            let written = String(url[range.upperBound..<at])
            #expect(!shown.contains(written), "\(shown)")
        }
    }

    @Test func redactionOfTheReportedURL() {
        let shown = PGConfiguration.redacted("postgres://u:p%40ss-w0rd@h/db")
        #expect(!shown.contains("p%40ss-w0rd") && !shown.contains("p@ss-w0rd") && !shown.contains("ss-w0rd"))
        #expect(shown.contains("user=u") && shown.contains("dbname=db") && shown.contains("password=********"))
        #expect(PGConfiguration.redacted("postgres://u:%zz@h/db").contains("not shown"))
        let secrets = PGConnection.secrets(in: "postgres://u:p%40ss-w0rd@h/db")
        #expect(
            PGConnection.scrub("failed for p@ss-w0rd and p%40ss-w0rd", secrets: secrets)
                == "failed for ******** and ********")
    }
}

@Suite struct PGQueryCompositionTests {
    @Test func fragmentsAreNumberedWhenAppended() {
        let org = "org_a"
        var query: PGQuery = "SELECT * FROM jobs WHERE organization_id = \(org)"
        query.append(" AND job_type = \("import") AND total_items > \(5)")
        query.append(" AND (created_at, job_id) < (\("2026-01-01")::timestamptz, \("job_x"))")
        query.append(" LIMIT \(51)")
        #expect(
            query.sql
                == "SELECT * FROM jobs WHERE organization_id = $1 AND job_type = $2 AND total_items > $3"
                + " AND (created_at, job_id) < ($4::timestamptz, $5) LIMIT $6")
        #expect(query.binds.map(\.value) == ["org_a", "import", "5", "2026-01-01", "job_x", "51"])
    }

    @Test func quotedTextKeepsItsDollars() {
        let prefix: PGQuery = "SELECT \(1)::int AS a"
        let combined = prefix + ", '$1 stays' AS b, \"$2col\" AS c, \(2)::int AS d"
        #expect(combined.sql == "SELECT $1::int AS a, '$1 stays' AS b, \"$2col\" AS c, $2::int AS d")
        #expect(combined.binds.count == 2)
        #expect(PGQuery.renumbered("$1 + $10", by: 3) == "$4 + $13")
        #expect(PGQuery.renumbered("$x and $", by: 3) == "$x and $")
    }
}
