"""(g) Secrets are never logged, and error bodies never leak internals.

The server runs with LOG_LEVEL=debug, its stdout+stderr captured to a file, while requests are
made with valid, invalid and revoked API keys and session tokens (header and `stytch_session`
cookie). Afterwards no token issued appears in the log, and no 4xx/5xx body contains SQL, paths,
stack traces, "postgres" or the machine's hostname. The run itself must be free of 5xx."""

import secrets
import time

from conftest import cli, create_job, leaked_internals, record_result


def secret_forms(token: str) -> list[str]:
    """The token, and its random part without the `jak_`/`jas_` prefix."""
    forms = [token]
    if "_" in token:
        rest = token.split("_", 1)[1]
        if len(rest) >= 16:
            forms.append(rest)
    return forms


def test_secrets_never_logged(server_factory, org, owner_key):
    # Tokens issued for this test.
    viewer_key = cli("apikey", "create", org, "--name", "secrets-viewer", "--role", "viewer")
    revoked_key = cli("apikey", "create", org, "--name", "secrets-revoked")
    cli("user", "create", "u1")
    cli("member", "add", org, "u1", "--role", "viewer")
    session = cli("session", "create", "u1")
    revoked_session = cli("session", "create", "u1")
    issued = {"owner_key": owner_key, "viewer_key": viewer_key, "revoked_key": revoked_key,
              "session": session, "revoked_session": revoked_session}
    for name, tok in issued.items():
        assert tok and "\n" not in tok and len(tok) >= 20, f"{name}: unexpected token output {tok!r}"

    server = server_factory("secrets", LOG_LEVEL="debug", AUTH_CACHE_TTL_SECONDS=0)
    job = create_job(server, owner_key)
    bogus_key = "jak_" + secrets.token_hex(32)
    bogus_session = "jas_" + secrets.token_hex(32)

    responses = []

    def req(label, method, path, token=None, cookie=None, body=None, headers=None):
        hdrs = dict(headers or {})
        if cookie:
            hdrs["Cookie"] = f"stytch_session={cookie}"
        r = server.request(method, path, token=token, body=body, headers=hdrs)
        responses.append((label, r))
        return r

    # Valid credentials.
    assert req("owner list", "GET", "/api/jobs/", token=owner_key).status == 200
    assert req("viewer get", "GET", f"/api/jobs/{job}", token=viewer_key).status == 200
    assert req("session get", "GET", f"/api/jobs/{job}", token=session).status == 200
    assert req("cookie get", "GET", f"/api/jobs/{job}", cookie=session).status == 200
    assert req("revoked key before revoke", "GET", "/api/jobs/", token=revoked_key).status == 200
    assert req("progress", "POST", f"/api/jobs/{job}/progress", token=owner_key,
               body={"processed_items_delta": 1, "message": "hello"}).status == 200
    assert req("idempotent create", "POST", "/api/jobs/", token=owner_key, body={"job_type": "s", "total_items": 1},
               headers={"Idempotency-Key": "secrets-test-1"}).status == 201

    # Revoke, then use the revoked ones.
    cli("apikey", "revoke", revoked_key)
    cli("session", "revoke", revoked_session)
    time.sleep(0.2)
    expect_401 = [
        ("revoked key", dict(token=revoked_key)),
        ("revoked session", dict(token=revoked_session)),
        ("revoked session cookie", dict(cookie=revoked_session)),
        ("unknown key", dict(token=bogus_key)),
        ("unknown session", dict(token=bogus_session)),
        ("unknown session cookie", dict(cookie=bogus_session)),
        ("malformed token", dict(token="not-a-token")),
        ("no credentials", dict()),
    ]
    for label, kw in expect_401:
        r = req(label, "GET", f"/api/jobs/{job}", **kw)
        assert r.status == 401, f"{label}: {r}"
    # Header wins over a bad cookie; a bad header with a good cookie is 401.
    assert req("header+bad cookie", "GET", f"/api/jobs/{job}", token=owner_key, cookie=bogus_session).status == 200
    assert req("bad header+good cookie", "GET", f"/api/jobs/{job}", token=bogus_key, cookie=session).status == 401

    # Other 4xx answers (their bodies are checked below).
    others = [
        req("viewer create", "POST", "/api/jobs/", token=viewer_key, body={"job_type": "x", "total_items": 1}),
        req("session create (viewer)", "POST", "/api/jobs/", token=session, body={"job_type": "x", "total_items": 1}),
        req("unknown job", "GET", "/api/jobs/job_doesnotexist", token=owner_key),
        req("bad json", "POST", "/api/jobs/", token=owner_key, body=b"{not json"),
        req("unknown field", "POST", f"/api/jobs/{job}/progress", token=owner_key, body={"processed": 1}),
        req("wrong type", "POST", "/api/jobs/", token=owner_key, body={"job_type": "x", "total_items": "5"}),
        req("bad cursor", "GET", "/api/jobs/?cursor=%27%3BSELECT%201--", token=owner_key),
        req("bad date", "GET", "/api/jobs/?created_after=yesterday", token=owner_key),
        req("non-json body", "POST", "/api/jobs/", token=owner_key, body=b"a=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"}),
        req("too large", "POST", "/api/jobs/", token=owner_key, body=b"{" + b" " * (1024 * 1024 + 10) + b"}"),
        req("wrong org", "GET", "/api/jobs/", token=owner_key, headers={"X-Organization-ID": "someone-else"}),
        req("empty org", "GET", "/api/jobs/", token=owner_key, headers={"X-Organization-ID": ""}),
        req("unknown path", "GET", "/api/nothing-here", token=owner_key),
        req("wrong method", "DELETE", f"/api/jobs/{job}", token=owner_key),
        req("nul in string", "POST", "/api/jobs/", token=owner_key, body='{"job_type": "a\\u0000b", "total_items": 1}'),
    ]
    bad = [(label, r) for label, r in responses[-len(others):] if not 400 <= r.status < 500]
    assert not bad, bad

    time.sleep(0.5)  # let the log handler flush
    server.kill()
    log = server.log_text()

    found_in_log = sorted({name for name, tok in list(issued.items()) + [("bogus_key", bogus_key),
                                                                          ("bogus_session", bogus_session)]
                           for form in secret_forms(tok) if form in log})
    server_errors = [(label, r.status) for label, r in responses if r.status >= 500]
    leaks = {label: leaked_internals(r.text) for label, r in responses if r.status >= 400}
    leaks = {k: v for k, v in leaks.items() if v}
    statuses = {}
    for _, r in responses:
        statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1

    record_result("secrets_never_logged", {
        "requests": len(responses), "statuses": statuses, "log_lines": len(log.splitlines()),
        "log_bytes": len(log), "tokens_checked": len(issued) + 2, "tokens_found_in_log": found_in_log,
        "server_errors": server_errors, "error_bodies_leaking": leaks,
    })
    assert log.strip(), "the debug log is empty: nothing was checked"
    assert not found_in_log, f"tokens found in the server log: {found_in_log}"
    assert not server_errors, f"5xx answers: {server_errors}"
    assert not leaks, f"error bodies leak internals: {leaks}"
