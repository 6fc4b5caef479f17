import Foundation
import Testing

@testable import JobsDomain
@testable import LibPQ

@Suite("LibPQ against a real PostgreSQL")
struct LibPQIntegrationTests {
    @Test func everyTypeRoundTripsIncludingNull() async throws {
        let client = try TestDatabase.ownerClient()
        defer { Task { await client.shutdown() } }
        let now = Date(timeIntervalSince1970: 1_795_927_572.123456)
        let json = PGJSON(text: #"{"a": [1, 2.5, "é✓"], "b": null}"#)
        let row = try await client.query(
            """
            SELECT \("héllo ✓ 🚀")::text AS s, \(Int64(-9_007_199_254_740_991))::int8 AS i64, \(42)::int8 AS i,
                   \(true)::bool AS b, \(3.25)::float8 AS d, \(now)::timestamptz AS t, \(json)::jsonb AS j,
                   \(PGBytes([0, 255, 16]))::bytea AS bytes,
                   \(String?.none)::text AS ns, \(Int?.none)::int8 AS ni, \(Bool?.none)::bool AS nb,
                   \(Double?.none)::float8 AS nd, \(Date?.none)::timestamptz AS nt, \(PGJSON?.none)::jsonb AS nj
            """
        ).first!
        #expect(try row.decode("s", as: String.self) == "héllo ✓ 🚀")
        #expect(try row.decode("i64", as: Int64.self) == -9_007_199_254_740_991)
        #expect(try row.decode("i", as: Int.self) == 42)
        #expect(try row.decode("b", as: Bool.self) == true)
        #expect(try row.decode("d", as: Double.self) == 3.25)
        #expect(try row.decode("t", as: Date.self) == now)
        let decoded = try row.decode("j", as: PGJSON.self)
        let object = try JSONSerialization.jsonObject(with: Data(decoded.text.utf8)) as? [String: Any]
        #expect((object?["a"] as? [Any])?.count == 3)
        #expect(((object?["a"] as? [Any])?[2] as? String) == "é✓")
        #expect(try row.decode("bytes", as: PGBytes.self) == PGBytes([0, 255, 16]))
        for column in ["ns", "ni", "nb", "nd", "nt", "nj"] {
            #expect(try row.isNull(column), "column \(column) should be NULL")
        }
        #expect(try row.decode("ns", as: String?.self) == nil)
        #expect(try row.decode("nt", as: Date?.self) == nil)
    }

    @Test func largeJSONRoundTrips() async throws {
        let client = try TestDatabase.ownerClient()
        defer { Task { await client.shutdown() } }
        let items = (0..<20_000).map { "\"item-\($0)-ünïcødé\"" }.joined(separator: ",")
        let json = PGJSON(text: "{\"items\": [\(items)]}")
        let row = try await client.query(
            "SELECT jsonb_array_length((\(json)::jsonb)->'items') AS n, (\(json)::jsonb) AS j"
        ).first!
        #expect(try row.decode("n", as: Int.self) == 20_000)
        #expect(try row.decode("j", as: PGJSON.self).text.contains("item-19999-ünïcødé"))
    }

    @Test(arguments: [
        "'; DROP TABLE injection_probe; --", "\" OR 1=1 --", "$1", "\\x00", "Robert'); DELETE FROM injection_probe;--",
    ])
    func injectionStringsAreStoredVerbatim(payload: String) async throws {
        // One connection, so the temporary table is visible to every statement of the test.
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TEMP TABLE injection_probe (id serial PRIMARY KEY, v text)")
        let id = try await client.query("INSERT INTO injection_probe (v) VALUES (\(payload)) RETURNING id").first!
            .decode("id", as: Int.self)
        let stored = try await client.query("SELECT v FROM injection_probe WHERE id = \(id)").first!
            .decode("v", as: String.self)
        #expect(stored == payload)
        let exists = try await client.query("SELECT to_regclass('injection_probe') IS NOT NULL AS e").first!
            .decode("e", as: Bool.self)
        #expect(exists)
    }

    @Test func nulCharacterIsRefusedClearly() async throws {
        let client = try TestDatabase.ownerClient()
        defer { Task { await client.shutdown() } }
        let error = await #expect(throws: PGError.self) { try await client.query("SELECT \("a\u{0}b") AS v") }
        #expect(error?.code == .usage)
    }

    @Test func serverErrorsCarrySQLStateAndConstraint() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TEMP TABLE err_probe (id int CONSTRAINT err_probe_pk PRIMARY KEY)")
        let id = Int.random(in: 1...1_000_000_000)
        try await client.query("INSERT INTO err_probe VALUES (\(id))")
        let error = await #expect(throws: PGError.self) {
            try await client.query("INSERT INTO err_probe VALUES (\(id))")
        }
        #expect(error?.code == .server)
        #expect(error?.sqlState == .uniqueViolation)
        #expect(error?.constraint == "err_probe_pk")
        #expect(error?.detail?.contains("already exists") == true)
        #expect(error?.description.contains("\(id)") == false)
        let syntax = await #expect(throws: PGError.self) { try await client.query("SELEC 1") }
        #expect(syntax?.sqlState == .syntaxError)
        // The connection stays usable after an error.
        #expect(try await client.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
    }

    @Test func stackedStatementsAreRefusedForParameterizedQueries() async throws {
        let client = try TestDatabase.ownerClient()
        defer { Task { await client.shutdown() } }
        await #expect(throws: PGError.self) { try await client.query("SELECT \(1)::int; SELECT 2") }
    }

    @Test func transactionCommitsOrRollsBack() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TEMP TABLE tx_probe (k text PRIMARY KEY)")
        let committed = TestDatabase.uniqueID("c")
        let rolledBack = TestDatabase.uniqueID("r")
        _ = try await client.withTransaction { tx in
            try await tx.query("INSERT INTO tx_probe VALUES (\(committed))")
        }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await client.withTransaction { tx in
                try await tx.query("INSERT INTO tx_probe VALUES (\(rolledBack))")
                throw Boom()
            }
        }
        // A failed statement inside the body: the error propagates and nothing is committed.
        let failed = TestDatabase.uniqueID("f")
        await #expect(throws: PGError.self) {
            try await client.withTransaction { tx in
                try await tx.query("INSERT INTO tx_probe VALUES (\(failed))")
                try await tx.query("INSERT INTO tx_probe VALUES (\(failed))")
            }
        }
        let keys = try await client.query(
            "SELECT k FROM tx_probe WHERE k IN (\(committed), \(rolledBack), \(failed))"
        ).map { try $0.decode("k", as: String.self) }
        #expect(keys == [committed])
        #expect(client.statistics.leased == 0)
    }

    @Test func cancellationRollsBackTheTransaction() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        // A real table: the cancelled task's session is closed, not reused (a late cancel could
        // otherwise hit the next statement), so a TEMP table would go with it.
        // Safety: identifiers cannot be bound; the name is generated here from hex digits.
        let table = TestDatabase.uniqueID("tx_probe")
        try await client.query("CREATE TABLE \(unsafeRaw: table) (k text PRIMARY KEY)")
        let key = TestDatabase.uniqueID("cancel")
        let pid = try await client.withConnection { try await $0.backendPID() }
        let task = Task {
            try await client.withTransaction { tx in
                try await tx.query("INSERT INTO \(unsafeRaw: table) VALUES (\(key))")
                try await tx.query("SELECT pg_sleep(10)")
            }
        }
        // Cancel once the statement runs (a fixed pause was too short on a loaded machine: the
        // cancel then came before the session did anything, and nothing needed replacing).
        let watcher = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await watcher.shutdown() } }
        for _ in 0..<100 {
            let running = try await watcher.query(
                """
                SELECT count(*) AS n FROM pg_stat_activity
                WHERE pid = \(pid) AND state = 'active' AND query LIKE 'SELECT pg_sleep(10)%'
                """
            ).first!.decode("n", as: Int.self)
            if running > 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let started = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - started < .seconds(5), "cancel must interrupt the running statement")
        // Safety: `table` is the generated name above (hex digits), as in the statements below.
        #expect(throws: (any Error).self) { try result.get() }
        let found = try await client.query("SELECT count(*) AS n FROM \(unsafeRaw: table) WHERE k = \(key)").first!
            .decode("n", as: Int.self)
        #expect(found == 0)
        #expect(
            try await client.withConnection { try await $0.backendPID() } != pid, "the cancelled session was replaced")
        #expect(try await client.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
        try await client.query("DROP TABLE \(unsafeRaw: table)")
    }

    @Test func poolExhaustionWaitsThenTimesOutClearly() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 2, acquireTimeout: .milliseconds(300))
        defer { Task { await client.shutdown() } }
        async let a: Void = client.withConnection { c in _ = try await c.query("SELECT pg_sleep(1.5)") }
        async let b: Void = client.withConnection { c in _ = try await c.query("SELECT pg_sleep(1.5)") }
        try await Task.sleep(for: .milliseconds(200))
        #expect(client.statistics.leased == 2)
        let started = ContinuousClock.now
        let error = await #expect(throws: PGError.self) { try await client.query("SELECT 1") }
        let waited = ContinuousClock.now - started
        #expect(error?.code == .poolTimeout)
        #expect(error?.message.contains("no database connection became free") == true)
        #expect(waited >= .milliseconds(250) && waited < .seconds(3), "bounded wait: \(waited)")
        _ = try await (a, b)
        // Once freed, the pool serves again, and a waiter that arrives in time is served.
        #expect(try await client.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
        #expect(client.statistics.waiting == 0)
    }

    /// A task that decides to wait for a connection just as the holder gives it back (before
    /// the waiter is registered) must still get it, not wait for a hand-back that never comes.
    /// Many short overlapping leases on a pool of one, each with a short acquire timeout.
    @Test func aConnectionReturnedWhileAWaiterRegistersIsNotLost() async throws {
        try TestDatabase.requireConfigured()
        let client = PGClient(
            configuration: PGConfiguration(
                connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 1,
                acquireTimeout: .seconds(3)))
        defer { Task { await client.shutdown() } }
        for round in 0..<300 {
            async let a = client.query("SELECT 1 AS v")
            async let b = client.query("SELECT 2 AS v")
            let (ra, rb) = try await (a, b)
            #expect(try ra.first!.decode("v", as: Int.self) == 1, "round \(round)")
            #expect(try rb.first!.decode("v", as: Int.self) == 2, "round \(round)")
        }
        #expect(client.statistics.leased == 0)
        #expect(client.statistics.waiting == 0)
    }

    @Test func waitersAreServedInArrivalOrder() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1, acquireTimeout: .seconds(10))
        defer { Task { await client.shutdown() } }
        let order = OrderRecorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.withConnection { c in _ = try await c.query("SELECT pg_sleep(0.3)") } }
            try await Task.sleep(for: .milliseconds(100))
            for i in 0..<5 {
                group.addTask { try await client.withConnection { _ in await order.append(i) } }
                try await Task.sleep(for: .milliseconds(30))
            }
            try await group.waitForAll()
        }
        #expect(await order.values == [0, 1, 2, 3, 4])
    }

    @Test func twoHundredTasksOnAPoolOfEightAllComplete() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 8, acquireTimeout: .seconds(30))
        defer { Task { await client.shutdown() } }
        let sum = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await client.query("SELECT \(i)::int8 AS v, pg_sleep(0.01)").first!.decode("v", as: Int.self)
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sum == (0..<200).reduce(0, +))
        let stats = client.statistics
        #expect(stats.open <= 8)
        #expect(stats.leased == 0)
        #expect(stats.waiting == 0)
    }

    @Test func blockingQueriesDoNotStallTheCooperativePool() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 8, acquireTimeout: .seconds(30))
        defer { Task { await client.shutdown() } }
        async let slow: Void = withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { try await client.query("SELECT pg_sleep(3)") } }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .milliseconds(100))
        // With 8 libpq calls blocked, other async work must still run promptly.
        let started = ContinuousClock.now
        for _ in 0..<10 { try await Task.sleep(for: .milliseconds(10)) }
        let elapsed = ContinuousClock.now - started
        // Had the libpq calls run on the cooperative pool (2 threads here), 8 calls of 3 s
        // would stall it for 12 s; the margin absorbs a busy machine (the whole suite runs in
        // parallel on 2 cores: 2.7 s was seen once).
        #expect(elapsed < .seconds(6), "async work stalled for \(elapsed) while queries blocked")
        try await slow
    }

    @Test func terminatedConnectionIsReplaced() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        let killer = try TestDatabase.ownerClient(maxConnections: 1)
        defer {
            Task {
                await client.shutdown()
                await killer.shutdown()
            }
        }
        let pid = try await client.withConnection { try await $0.backendPID() }
        let killed = try await killer.query("SELECT pg_terminate_backend(\(pid)::int) AS ok").first!.decode(
            "ok", as: Bool.self)
        #expect(killed)
        try await Task.sleep(for: .milliseconds(200))
        // The next query gets a fresh connection and succeeds.
        let newPID = try await client.withConnection { try await $0.backendPID() }
        #expect(newPID != pid)
        #expect(client.statistics.open == 1)
    }

    @Test func connectionFailureIsClearAndHidesThePassword() async throws {
        let client = PGClient(
            configuration: PGConfiguration(
                connectionString: "postgresql://someone:pa55word-xyz@127.0.0.1:1/nodb?connect_timeout=2",
                maxConnections: 1))
        defer { Task { await client.shutdown() } }
        let error = await #expect(throws: PGError.self) { try await client.query("SELECT 1") }
        #expect(error?.code == .connection)
        #expect(error?.message.contains("cannot connect to PostgreSQL") == true)
        #expect(error?.message.contains("pa55word-xyz") == false)
        #expect(error?.isUnavailable == true)
        // The failed attempt gave its slot back.
        #expect(client.statistics.open == 0)
    }

    @Test func unnamedStatementsOnlyModeWorks() async throws {
        try TestDatabase.requireConfigured()
        let client = PGClient(
            configuration: PGConfiguration(
                connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 1,
                unnamedStatementsOnly: true))
        defer { Task { await client.shutdown() } }
        for i in 0..<3 {
            #expect(try await client.query("SELECT \(i)::int8 AS v").first!.decode("v", as: Int.self) == i)
        }
        let prepared = try await client.query("SELECT count(*) AS n FROM pg_prepared_statements").first!
            .decode("n", as: Int.self)
        #expect(prepared == 0)
    }

    @Test func namedStatementsArePreparedOncePerConnection() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        for i in 0..<3 { try await client.query("SELECT \(i)::int8 AS v") }
        let prepared = try await client.query(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1::int8 AS v%'"
        ).first!.decode("n", as: Int.self)
        #expect(prepared == 1)
    }

    /// A cancel request travels on its own connection and may reach the server after the
    /// statement it was meant for has ended. It must never hit the next lease's statement.
    /// Here the cancel request is delayed by 150 ms (as over a slow network): task A's short
    /// statement ends before it lands, task B takes the (only) connection and runs a 400 ms
    /// statement. B must succeed.
    @Test func aLateCancelNeverReachesTheNextLease() async throws {
        try TestDatabase.requireConfigured()
        // A long acquire timeout: on a loaded machine B may wait a while for the connection;
        // what matters is that its statement is never cancelled.
        var configuration = PGConfiguration(
            connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 1, acquireTimeout: .seconds(60))
        configuration.cancelDelayForTesting = .milliseconds(150)
        let client = PGClient(configuration: configuration)
        defer { Task { await client.shutdown() } }
        let a = Task { try await client.query("SELECT pg_sleep(0.05)") }
        try await Task.sleep(for: .milliseconds(20))
        let b = Task { try await client.query("SELECT 'b' AS who, pg_sleep(0.4)") }
        a.cancel()  // while A's statement runs; the request lands ~150 ms later, during B's
        _ = await a.result
        let who = try await b.value.first!.decode("who", as: String.self)
        #expect(who == "b")
    }

    /// The same under load, at random points: waves of tasks share two connections, random tasks
    /// are cancelled at random moments and their cancel requests take a random 0–3 ms to land.
    /// Every task that was not cancelled must succeed.
    @Test func cancellingRandomTasksNeverCancelsAnotherTasksStatement() async throws {
        try TestDatabase.requireConfigured()
        var rng = SystemRandomNumberGenerator()
        var innocentFailures: [String] = []
        var cancelledFailures = 0
        for wave in 0..<60 {
            var configuration = PGConfiguration(
                connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 2,
                acquireTimeout: .seconds(30))
            configuration.cancelDelayForTesting = .microseconds(Int.random(in: 0...3000, using: &rng))
            let client = PGClient(configuration: configuration)
            var tasks: [Task<Void, any Error>] = []
            for _ in 0..<4 {
                tasks.append(
                    Task {
                        try await client.withConnection { lease in
                            for k in 0..<6 {
                                let v = try await lease.query("SELECT \(k)::int AS v, pg_sleep(0.001)").first!
                                    .decode("v", as: Int.self)
                                #expect(v == k)
                            }
                        }
                    })
            }
            let victims = Set((0..<4).shuffled(using: &rng).prefix(2))
            try await Task.sleep(for: .microseconds(Int.random(in: 0...8000, using: &rng)))
            for index in victims { tasks[index].cancel() }
            for (index, task) in tasks.enumerated() {
                do {
                    try await task.value
                } catch {
                    if victims.contains(index) {
                        cancelledFailures += 1
                    } else {
                        innocentFailures.append("wave \(wave): \(error)")
                    }
                }
            }
            // The pool is healthy afterwards.
            #expect(try await client.query("SELECT 1 AS one").first!.decode("one", as: Int.self) == 1)
            #expect(client.statistics.leased == 0)
            #expect(client.statistics.open <= 2)
            await client.shutdown()
        }
        #expect(
            innocentFailures.isEmpty,
            "\(innocentFailures.count) tasks that nobody cancelled failed: \(innocentFailures.prefix(3))")
        #expect(cancelledFailures > 0, "the test must actually cancel some statements")
    }

    /// Item 8 of the hardening issue: a pipeline outside a transaction commits at its sync
    /// point, so it succeeds only when the sync point is confirmed. Here the commit itself fails
    /// after the INSERT's result was sent: once by an error (a deferred constraint trigger), once
    /// by the backend dying. Both must throw, and nothing must be stored. (A create without an
    /// Idempotency-Key is exactly such a pipeline: `set_config` + `INSERT`.)
    @Test func pipelineSucceedsOnlyWhenItsCommitIsConfirmed() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let table = TestDatabase.uniqueID("commit_probe")
        // Safety: identifiers cannot be bound; the name is generated above from hex digits.
        try await client.query("CREATE TABLE \(unsafeRaw: table) (k text PRIMARY KEY, fate text NOT NULL)")
        try await client.query(
            """
            CREATE FUNCTION \(unsafeRaw: table)_fate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.fate = 'raise' THEN RAISE EXCEPTION 'refused at commit'; END IF;
                IF NEW.fate = 'die' THEN
                    PERFORM pg_terminate_backend(pg_backend_pid());
                    PERFORM pg_sleep(5);
                END IF;
                RETURN NULL;
            END $$
            """)
        try await client.query(
            """
            CREATE CONSTRAINT TRIGGER fate AFTER INSERT ON \(unsafeRaw: table) DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION \(unsafeRaw: table)_fate()
            """)
        for fate in ["raise", "die"] {
            let error = await #expect(throws: PGError.self, "\(fate): the commit was not confirmed") {
                try await client.withConnection { lease in
                    try await lease.pipeline([
                        "SELECT 1 AS one", "INSERT INTO \(unsafeRaw: table) VALUES (\(fate), \(fate))",
                    ])
                }
            }
            if fate == "die" { #expect(error?.isUnavailable == true, "\(String(describing: error))") }
        }
        // Safety: the table name is generated above from hex digits.
        try await client.withConnection { lease in
            _ = try await lease.pipeline(["INSERT INTO \(unsafeRaw: table) VALUES ('ok', 'live')"])
        }
        let stored = try await client.query("SELECT k FROM \(unsafeRaw: table) ORDER BY k").map {
            try $0.decode("k", as: String.self)
        }
        #expect(stored == ["ok"])
        try await client.query("DROP TABLE \(unsafeRaw: table)")
        try await client.query("DROP FUNCTION \(unsafeRaw: table)_fate()")
    }

    /// The per-connection statement cache is bounded: past `maxPreparedStatements`, the least
    /// recently used are deallocated when the connection goes back to the pool.
    @Test func preparedStatementCacheIsBounded() async throws {
        try TestDatabase.requireConfigured()
        var configuration = PGConfiguration(
            connectionString: TestDatabase.environment["DATABASE_URL"], maxConnections: 1)
        configuration.maxPreparedStatements = 8
        let client = PGClient(configuration: configuration)
        defer { Task { await client.shutdown() } }
        // Safety: constants only (the loop index).
        for i in 0..<40 {
            // 40 distinct statement texts (constants only; the bound is a safety net).
            let v = try await client.query("SELECT \(unsafeRaw: String(i)) + \(1)::int AS v").first!.decode(
                "v", as: Int.self)
            #expect(v == i + 1)
        }
        let prepared = try await client.query("SELECT count(*) AS n FROM pg_prepared_statements").first!
            .decode("n", as: Int.self)
        #expect(prepared <= 9, "\(prepared) statements kept on one connection")
        // Deallocated statements are prepared again when needed.
        #expect(
            try await client.query("SELECT \(unsafeRaw: "0") + \(1)::int AS v").first!.decode("v", as: Int.self) == 1)
    }
}

actor OrderRecorder {
    var values: [Int] = []
    func append(_ value: Int) { values.append(value) }
}

@Suite("LibPQ pipeline mode")
struct PipelineTests {
    @Test func statementsRunInOrderInOneImplicitTransaction() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        for round in 0..<3 {  // the second round reuses the prepared statements
            let results = try await client.withConnection { lease in
                try await lease.pipeline([
                    "SELECT set_config('app.probe', \("value-\(round)"), true) AS v",
                    "SELECT current_setting('app.probe', true) AS v",
                    "SELECT \(round)::int8 AS v",
                ])
            }
            #expect(results.count == 3)
            #expect(try results[1].first!.decode("v", as: String.self) == "value-\(round)", "same transaction")
            #expect(try results[2].first!.decode("v", as: Int.self) == round)
        }
        // The setting was transaction-local: gone afterwards.
        let after = try await client.query("SELECT coalesce(current_setting('app.probe', true), '') AS v").first!
        #expect(try after.decode("v", as: String.self) == "")
    }

    @Test func anErrorAbortsTheRestAndRollsBack() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TEMP TABLE pipe_probe (k int PRIMARY KEY)")
        let error = await #expect(throws: PGError.self) {
            try await client.withConnection { lease in
                try await lease.pipeline([
                    "INSERT INTO pipe_probe VALUES (\(1))", "SELECT 1/0 AS boom",
                    "INSERT INTO pipe_probe VALUES (\(2))",
                ])
            }
        }
        #expect(error?.sqlState == SQLState(rawValue: "22012"))
        let count = try await client.query("SELECT count(*) AS n FROM pipe_probe").first!.decode("n", as: Int.self)
        #expect(count == 0, "the implicit transaction rolled back")
        // The connection is usable again, in and out of pipeline mode.
        #expect(try await client.query("SELECT 7 AS v").first!.decode("v", as: Int.self) == 7)
        let again = try await client.withConnection { try await $0.pipeline(["SELECT \(8)::int8 AS v"]) }
        #expect(try again[0].first!.decode("v", as: Int.self) == 8)
    }

    @Test func explicitTransactionsSpanPipelines() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TEMP TABLE pipe_tx (k int PRIMARY KEY)")
        try await client.withConnection { lease in
            try await lease.pipeline(["BEGIN", "INSERT INTO pipe_tx VALUES (\(1))"])
            try await lease.pipeline(["INSERT INTO pipe_tx VALUES (\(2))", "COMMIT"])
        }
        #expect(try await client.query("SELECT count(*) AS n FROM pipe_tx").first!.decode("n", as: Int.self) == 2)
    }
}

/// The non-blocking path: statements are sent by the calling task and the shared `PGReactor`
/// collects the results. Each test here fails if results are routed to the wrong caller, a
/// lost connection hangs or is reused, a large send is not flushed, or a continuation leaks.
@Suite("LibPQ reactor")
struct ReactorTests {
    @Test func manyConcurrentPipelinesOnASmallPoolGetTheirOwnRows() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 3, acquireTimeout: .seconds(60))
        defer { Task { await client.shutdown() } }
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<400 {
                group.addTask {
                    let results = try await client.withConnection { lease in
                        try await lease.pipeline([
                            "SELECT \(i)::int8 AS v",
                            "SELECT \("caller-\(i)") AS who, pg_sleep(\(i % 7 == 0 ? 0.002 : 0.0)) AS z",
                            "SELECT g AS v FROM generate_series(1, \(i % 50)::int) AS g",
                        ])
                    }
                    var wrong = 0
                    if try results[0].first!.decode("v", as: Int.self) != i { wrong += 1 }
                    if try results[1].first!.decode("who", as: String.self) != "caller-\(i)" { wrong += 1 }
                    if results[2].count != i % 50 { wrong += 1 }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(mismatches == 0)
        let stats = client.statistics
        #expect(stats.open <= 3)
        #expect(stats.leased == 0)
        #expect(stats.waiting == 0)
    }

    @Test func aBackendTerminatedWhileWaitingFailsThatCallerAndThePoolRecovers() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1, acquireTimeout: .seconds(30))
        let killer = try TestDatabase.ownerClient(maxConnections: 1)
        defer {
            Task {
                await client.shutdown()
                await killer.shutdown()
            }
        }
        let pid = try await client.withConnection { try await $0.backendPID() }
        let waiting = Task {
            try await client.withConnection { lease in
                try await lease.pipeline(["SELECT 1 AS one", "SELECT pg_sleep(10)"])
            }
        }
        try await Task.sleep(for: .milliseconds(400))
        let started = ContinuousClock.now
        let killed = try await killer.query("SELECT pg_terminate_backend(\(pid)::int) AS ok").first!
            .decode("ok", as: Bool.self)
        #expect(killed)
        let result = await waiting.result
        #expect(ContinuousClock.now - started < .seconds(5), "the waiting caller must fail promptly")
        #expect(throws: PGError.self) { try result.get() }
        if case .failure(let error as PGError) = result {
            #expect(error.code == .connection, "\(error)")
        }
        // The broken connection was dropped, not reused: the next query gets a fresh session.
        let newPID = try await client.withConnection { try await $0.backendPID() }
        #expect(newPID != pid)
        #expect(try await client.query("SELECT 2 AS two").first!.decode("two", as: Int.self) == 2)
        #expect(client.statistics.open == 1)
        #expect(client.statistics.leased == 0)
    }

    @Test func aPipelineTooLargeForOneFlushCompletes() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let flushesBefore = PGReactor.shared.flushingCount
        // 8 MB of binds: far beyond a socket buffer, so `PQflush` returns 1 and the reactor
        // finishes sending on writability while it also reads.
        let big = String(repeating: "0123456789abcdef", count: 256 * 1024)
        for round in 0..<2 {
            let results = try await client.withConnection { lease in
                try await lease.pipeline([
                    "SELECT length(\(big)) AS n, \(round)::int AS r",
                    "SELECT md5(\(big)) AS h",
                    "SELECT length(\(big + "x")) AS n",
                ])
            }
            #expect(try results[0].first!.decode("n", as: Int.self) == big.utf8.count)
            #expect(try results[0].first!.decode("r", as: Int.self) == round)
            #expect(try results[1].first!.decode("h", as: String.self).count == 32)
            #expect(try results[2].first!.decode("n", as: Int.self) == big.utf8.count + 1)
        }
        // A single statement that large, and a large result back.
        let echoed = try await client.query("SELECT \(big) || 'end' AS v").first!.decode("v", as: String.self)
        #expect(echoed == big + "end")
        #expect(PGReactor.shared.flushingCount > flushesBefore, "the large sends must have needed the reactor to flush")
    }

    @Test func cancellingASleepingStatementReturnsCancelledQuickly() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let task = Task { try await client.withConnection { try await $0.query("SELECT pg_sleep(10)") } }
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - started < .seconds(3), "the cancel must interrupt pg_sleep")
        #expect(throws: PGError.self) { try result.get() }
        if case .failure(let error as PGError) = result {
            #expect(error.code == .cancelled, "\(error)")
        }
        #expect(try await client.query("SELECT 3 AS v").first!.decode("v", as: Int.self) == 3)
        #expect(client.statistics.leased == 0)
    }

    @Test func aThousandSequentialStatementsLeaveEverythingIdle() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 2)
        defer { Task { await client.shutdown() } }
        var sum = 0
        for i in 0..<1000 {
            switch i % 4 {
            case 0: sum += try await client.query("SELECT \(i)::int8 AS v").first!.decode("v", as: Int.self)
            case 1:
                sum += try await client.withConnection { try await $0.pipeline(["SELECT \(i)::int8 AS v"]) }[0].first!
                    .decode("v", as: Int.self)
            case 2:
                sum += try await client.withTransaction { try await $0.query("SELECT \(i)::int8 AS v") }.first!
                    .decode("v", as: Int.self)
            default:
                // A failing statement completes its caller too, and leaves the connection usable.
                await #expect(throws: PGError.self) { try await client.query("SELECT 1/\(0)::int AS v") }
                sum += i
            }
        }
        #expect(sum == (0..<1000).reduce(0, +))
        let stats = client.statistics
        #expect(stats.leased == 0)
        #expect(stats.waiting == 0)
        #expect(stats.idle == stats.open)
        #expect(stats.open >= 1 && stats.open <= 2)
    }

    /// A task waiting on a reactor that stops is resumed (never left hanging) with a connection
    /// error, and the connection it waited on is not reused.
    @Test func aStoppedReactorResumesItsWaiterWithAConnectionError() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        let reactor = PGReactor(name: "test-reactor")
        let pid = try await client.withConnection { lease in
            let connection = lease.connection
            let pid = try await lease.backendPID()
            let waiting = Task { try await connection.pipeline(["SELECT pg_sleep(2)"], reactor: reactor) }
            var registered = false
            for _ in 0..<100 where !registered {
                try await Task.sleep(for: .milliseconds(10))
                registered = reactor.waitingCount == 1
            }
            #expect(registered, "the pipeline waits on the test reactor")
            reactor.stop()
            let result = await waiting.result
            #expect(throws: PGError.self) { try result.get() }
            if case .failure(let error as PGError) = result { #expect(error.code == .connection, "\(error)") }
            #expect(!connection.isConnected, "marked broken")
            #expect(reactor.waitingCount == 0)
            return pid
        }
        #expect(try await client.withConnection { try await $0.backendPID() } != pid, "the session was replaced")
    }

    /// A task's value, or nil (and the task cancelled) when it takes longer than `limit`.
    private func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration = .seconds(10)) async -> T? {
        await withTaskGroup(of: T?.self) { group in
            group.addTask { await task.value }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            if first == nil { task.cancel() }
            group.cancelAll()
            return first
        }
    }

    private func waitUntilRegistered(_ reactor: PGReactor, _ count: Int = 1) async throws -> Bool {
        for _ in 0..<500 {
            if reactor.readinessWaitingCount == count { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// `waitUntilReady` (`PGListener`'s wait): data wakes it; cancellation ends it whether it
    /// comes before or after the socket is registered; a stopped reactor fails it; and none of
    /// it leaves a registration behind.
    @Test func readinessWaitsWakeOnDataAndEndOnCancellationOrStop() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        let sender = try TestDatabase.ownerClient(maxConnections: 1)
        defer {
            Task {
                await client.shutdown()
                await sender.shutdown()
            }
        }
        let reactor = PGReactor(name: "test-readiness")
        let channel = TestDatabase.uniqueID("ready")
        try await client.withConnection { lease in
            let connection = lease.connection
            // Safety: the channel name is generated from hex digits only.
            try await lease.script("LISTEN \(channel)")

            let waiting = Task { await reactor.waitUntilReady(connection) }
            #expect(try await waitUntilRegistered(reactor), "the wait registers")
            waiting.cancel()
            #expect(await value(of: waiting) == .cancelled)
            #expect(reactor.readinessWaitingCount == 0)

            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return await reactor.waitUntilReady(connection)
            }
            #expect(await value(of: early) == .cancelled, "cancelled before registering")
            #expect(reactor.readinessWaitingCount == 0)

            let stopping = Task { await reactor.waitUntilReady(connection, writable: false) }
            #expect(try await waitUntilRegistered(reactor))
            reactor.stop()
            let stopped = await value(of: stopping)
            #expect(stopped != nil && stopped != .ready && stopped != .cancelled, "\(String(describing: stopped))")
            let afterStop = await value(of: Task { await reactor.waitUntilReady(connection) })
            #expect(afterStop != nil && afterStop != .ready && afterStop != .cancelled)

            // The shared reactor: a notification makes the idle socket readable.
            let woken = Task { await PGReactor.shared.waitUntilReady(connection) }
            try await sender.query("SELECT pg_notify(\(channel), \("x"))")
            #expect(await value(of: woken) == .ready)
        }
    }

    @Test func scriptsRunSeveralStatementsAndReportTheFirstError() async throws {
        let client = try TestDatabase.ownerClient(maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.withConnection { lease in
            let last = try await lease.script(
                "CREATE TEMP TABLE script_probe (k int); INSERT INTO script_probe VALUES (1), (2)")
            #expect(last.commandTag == "INSERT 0 2")
            let error = await #expect(throws: PGError.self) {
                try await lease.script(
                    "INSERT INTO script_probe VALUES (3); SELECT 1/0; INSERT INTO script_probe VALUES (4)")
            }
            #expect(error?.sqlState == SQLState(rawValue: "22012"))
            let n = try await lease.query("SELECT count(*) AS n FROM script_probe").first!.decode("n", as: Int.self)
            #expect(n == 2, "a failing script is one implicit transaction")
        }
    }
}
