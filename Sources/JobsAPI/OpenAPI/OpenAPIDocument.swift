/// The OpenAPI 3.1 description of every route this server serves (GET /openapi.json).
public enum OpenAPIDocument {
    public static let json: String = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "jobs-api",
        "version": "1.0.0",
        "description": "Multi-tenant API that tracks long-running batch jobs (imports, enrichment runs, crawls, exports). Workers create a job and report progress on it over HTTP; people and dashboards read it. Wire-compatible with the MerchantOps Jobs API.\n\nEvery path is also served with or without a trailing slash (`/api/jobs` = `/api/jobs/`, `/api/jobs/{job_id}/` = `/api/jobs/{job_id}`).\n\nAuthentication on `/api` routes: `Authorization: Bearer <token>` (an API key `jak_...` or a session token) or the `stytch_session` cookie (a session token); when both are present the header wins. Tenancy: an API key belongs to one organization (`X-Organization-ID` optional; a different one is a 403). A session user acts in the organization named by `X-Organization-ID` (403 if not a member) or, without it, in their only organization (400 with several memberships, 403 with none). Roles: `viewer` has `job:read`; `editor`, `admin` and `owner` have `job:read`, `job:create`, `job:cancel`. A job of another organization is a 404, never a 403.\n\nChecks run in order: 401 (429 for an address with too many failed token lookups), then 400/403 (tenancy; a cross-site write with the session cookie is a 403), 403 (permission), body (413/415/422), 404, 409. Errors: 422 bodies are `{\"detail\": [{\"loc\", \"msg\", \"type\"}]}`; every other error is `{\"detail\": \"<sentence>\", \"code\": \"<code>\"}`. A method a path does not support is a 405. JSON in and out; `POST` bodies must be `application/json`. Request bodies reject unknown fields, coerce no types, and reject strings containing NUL (422); a field sent as `null` is the same as an absent one. Timestamps are RFC 3339 UTC with millisecond precision; null fields are always present. Every response carries `X-Request-ID` (the request's own value echoed, or a generated one)."
      },
      "servers": [
        {
          "url": "/"
        }
      ],
      "tags": [
        {
          "name": "jobs",
          "description": "Jobs, their progress, errors and warnings."
        },
        {
          "name": "operations",
          "description": "Health, readiness and this document (no authentication)."
        }
      ],
      "security": [
        {
          "bearerAuth": []
        },
        {
          "sessionCookie": []
        }
      ],
      "paths": {
        "/api/jobs/": {
          "post": {
            "tags": [
              "jobs"
            ],
            "operationId": "createJob",
            "summary": "Create a job",
            "description": "Creates a `pending` job in the caller's organization. Requires `job:create`. 422 for a missing body (empty), malformed JSON (`json_invalid`), missing or unknown fields, wrong types, out-of-range values, metadata over 256 KiB, a NUL in a string, or a reused/malformed `Idempotency-Key`. Numbers stored in `metadata` (and `metadata_patch`, error/warning `details`) must be integers within ±(2^53 - 1) or finite doubles with at most 17 significant digits and a decimal exponent within ±308 (422 naming the number otherwise); they are stored and returned in plain decimal form (`1e2` -> `100.0`), and the size limits apply to that form. Checks run in this order: authentication (401), tenancy (400/403), permission (403), body (413/415/422), job (404), job state (409).",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              },
              {
                "$ref": "#/components/parameters/IdempotencyKey"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/CreateJobRequest"
                  }
                }
              }
            },
            "responses": {
              "201": {
                "description": "Created (or replayed).",
                "headers": {
                  "Location": {
                    "description": "`/api/jobs/{job_id}` of the new job.",
                    "required": true,
                    "schema": {
                      "type": "string"
                    }
                  },
                  "Idempotent-Replayed": {
                    "description": "`true` when this response is a replay of an earlier request with the same `Idempotency-Key`.",
                    "schema": {
                      "type": "string",
                      "const": "true"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Job"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "408": {
                "$ref": "#/components/responses/RequestTimeout"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "415": {
                "$ref": "#/components/responses/UnsupportedMediaType"
              },
              "422": {
                "$ref": "#/components/responses/ValidationFailed"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          },
          "get": {
            "tags": [
              "jobs"
            ],
            "operationId": "listJobs",
            "summary": "List jobs",
            "description": "Jobs of the caller's organization, newest first, without `errors` and `warnings`. Requires `job:read`. Keyset paging: follow `next_cursor`. 422 for an unknown status, a bad date, a bad cursor (malformed, out of range, or made for an errors/warnings page) or an out-of-range limit.",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              },
              {
                "name": "status",
                "in": "query",
                "required": false,
                "style": "form",
                "explode": true,
                "schema": {
                  "type": "array",
                  "items": {
                    "$ref": "#/components/schemas/JobStatusValue"
                  }
                },
                "description": "Only jobs in these statuses. Repeat the parameter (`status=pending&status=failed`) or separate values with commas in one parameter (`status=pending,failed`)."
              },
              {
                "name": "job_type",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                },
                "description": "Only jobs of this type."
              },
              {
                "name": "triggered_by",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string"
                },
                "description": "Only jobs triggered by this principal."
              },
              {
                "name": "created_after",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string",
                  "format": "date-time"
                },
                "description": "Only jobs created at or after this RFC 3339 time (inclusive)."
              },
              {
                "name": "created_before",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "string",
                  "format": "date-time"
                },
                "description": "Only jobs created before this RFC 3339 time (exclusive)."
              },
              {
                "name": "limit",
                "in": "query",
                "required": false,
                "schema": {
                  "type": "integer",
                  "minimum": 1,
                  "maximum": 200,
                  "default": 50
                },
                "description": "Page size (1-200)."
              },
              {
                "$ref": "#/components/parameters/Cursor"
              }
            ],
            "responses": {
              "200": {
                "description": "A page of jobs.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/JobPage"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "422": {
                "$ref": "#/components/responses/ValidationFailed"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/api/jobs/{job_id}": {
          "parameters": [
            {
              "$ref": "#/components/parameters/JobID"
            }
          ],
          "get": {
            "tags": [
              "jobs"
            ],
            "operationId": "getJob",
            "summary": "Get a job",
            "description": "The job with its 100 most recent errors and warnings. Requires `job:read`.",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              }
            ],
            "responses": {
              "200": {
                "description": "The job.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Job"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/api/jobs/{job_id}/status": {
          "parameters": [
            {
              "$ref": "#/components/parameters/JobID"
            }
          ],
          "get": {
            "tags": [
              "jobs"
            ],
            "operationId": "getJobStatus",
            "summary": "Get a job's status",
            "description": "The cheap polling view. Requires `job:read`.",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              }
            ],
            "responses": {
              "200": {
                "description": "The job's status.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/JobStatus"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/api/jobs/{job_id}/progress": {
          "parameters": [
            {
              "$ref": "#/components/parameters/JobID"
            }
          ],
          "post": {
            "tags": [
              "jobs"
            ],
            "operationId": "reportJobProgress",
            "summary": "Report job progress",
            "description": "Requires `job:create`. Every field is optional and only present (non-null) fields take effect. All effects apply atomically, in one transaction under the job's row lock, in this order: 1. `total_items` is set; 2. `processed_items` is set, or `processed_items_delta` is added (both together: 422); 3. `metadata_patch` is merged into `metadata` (RFC 7396); 4. `stage` -> `metadata.stage`, `message` -> `metadata.last_message`; 5. `error` / `warning` are appended with a server timestamp (`error_count` / `warning_count` rise; `failed_items` / `warned_items` rise when `entity_type` is not `\"job\"`); 6. `mark_started`: `pending` -> `in_progress`, `started_at` = now (no change if already `in_progress`); 7. `mark_completed`: with any error (`error_count` > 0) the status is `partial_success`, except when `processed_items` = 0 and `failed_items` > 0: `failed` with `error_message` `all <failed_items> items failed`; else with any warning `completed_with_warnings`; else `completed`; `completed_at` = now; 8. `mark_failed`: status `failed`, `error_message` = the string, `completed_at` = now. `mark_completed` and `mark_failed` together: 422. An empty body `{}` changes nothing and returns the job. On a job in a terminal status, a request carrying any field is a 409 (`job <id> is <status> and accepts no more progress`), except a harmless retry, which returns 200 with the job unchanged: a body whose only field is `mark_completed: true` on a job that `mark_completed` ended (whatever status it derived), or whose only field is `mark_failed` (any message) on a job that `mark_failed` ended. 422 also for an empty body, malformed JSON (`json_invalid`), unknown fields (also inside `error`/`warning`), wrong types (no coercion), out-of-range values, `details` over 16 KiB, a NUL in a string, a reused/malformed `Idempotency-Key`, and - checked after the 404 and 409 - a delta pushing `processed_items` past 2^53 - 1 or a merged metadata over 256 KiB. Numbers stored in `metadata` (and `metadata_patch`, error/warning `details`) must be integers within ±(2^53 - 1) or finite doubles with at most 17 significant digits and a decimal exponent within ±308 (422 naming the number otherwise); they are stored and returned in plain decimal form (`1e2` -> `100.0`), and the size limits apply to that form. A `false` flag (`mark_started: false`) is a field: on a terminal job it is a 409 like any other. Checks run in this order: authentication (401), tenancy (400/403), permission (403), body (413/415/422), job (404), job state (409).",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              },
              {
                "$ref": "#/components/parameters/IdempotencyKey"
              }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/ProgressRequest"
                  }
                }
              }
            },
            "responses": {
              "200": {
                "description": "The job after the update (or unchanged, for `{}` and harmless retries).",
                "headers": {
                  "Idempotent-Replayed": {
                    "description": "`true` when this response is a replay of an earlier request with the same `Idempotency-Key`.",
                    "schema": {
                      "type": "string",
                      "const": "true"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Job"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "409": {
                "description": "The job is in a terminal status and accepts no more progress: `job <id> is <status> and accepts no more progress`.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorDetail"
                    }
                  }
                }
              },
              "408": {
                "$ref": "#/components/responses/RequestTimeout"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "415": {
                "$ref": "#/components/responses/UnsupportedMediaType"
              },
              "422": {
                "$ref": "#/components/responses/ValidationFailed"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/api/jobs/{job_id}/cancel": {
          "parameters": [
            {
              "$ref": "#/components/parameters/JobID"
            }
          ],
          "post": {
            "tags": [
              "jobs"
            ],
            "operationId": "cancelJob",
            "summary": "Cancel a job",
            "description": "Requires `job:cancel`. From `pending` or `in_progress`: status `cancelled`, `completed_at` = now, `error_message` = the reason or `cancelled`. Cancelling a cancelled job returns 200 with the job unchanged; any other terminal status is a 409. Workers learn of the cancellation from the 409 on their next progress report. The body is optional (an empty body is fine). Checks run in this order: authentication (401), tenancy (400/403), permission (403), body (413/415/422), job (404), job state (409).",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              },
              {
                "$ref": "#/components/parameters/IdempotencyKey"
              }
            ],
            "requestBody": {
              "required": false,
              "content": {
                "application/json": {
                  "schema": {
                    "$ref": "#/components/schemas/CancelRequest"
                  }
                }
              }
            },
            "responses": {
              "200": {
                "description": "The cancelled job.",
                "headers": {
                  "Idempotent-Replayed": {
                    "description": "`true` when this response is a replay of an earlier request with the same `Idempotency-Key`.",
                    "schema": {
                      "type": "string",
                      "const": "true"
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Job"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "409": {
                "description": "The job is in a terminal status other than `cancelled`: `job <id> is <status> and cannot be cancelled`.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/ErrorDetail"
                    }
                  }
                }
              },
              "408": {
                "$ref": "#/components/responses/RequestTimeout"
              },
              "413": {
                "$ref": "#/components/responses/PayloadTooLarge"
              },
              "415": {
                "$ref": "#/components/responses/UnsupportedMediaType"
              },
              "422": {
                "$ref": "#/components/responses/ValidationFailed"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/api/jobs/{job_id}/errors": {
          "parameters": [
            {
              "$ref": "#/components/parameters/JobID"
            }
          ],
          "get": {
            "tags": [
              "jobs"
            ],
            "operationId": "listJobErrors",
            "summary": "List a job's errors",
            "description": "The job's full error history, oldest first (up to the per-job cap, default 100,000; past it the newest are not stored and `metadata.errors_truncated` is true). Requires `job:read`. 422 for a bad cursor (malformed, out of range, or made for another job, the other kind or the job list) or an out-of-range limit.",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              },
              {
                "$ref": "#/components/parameters/EventLimit"
              },
              {
                "$ref": "#/components/parameters/Cursor"
              }
            ],
            "responses": {
              "200": {
                "description": "A page of errors.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/JobEventPage"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "422": {
                "$ref": "#/components/responses/ValidationFailed"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/api/jobs/{job_id}/warnings": {
          "parameters": [
            {
              "$ref": "#/components/parameters/JobID"
            }
          ],
          "get": {
            "tags": [
              "jobs"
            ],
            "operationId": "listJobWarnings",
            "summary": "List a job's warnings",
            "description": "The job's full warning history, oldest first (up to the per-job cap, default 100,000; past it the newest are not stored and `metadata.warnings_truncated` is true). Requires `job:read`. 422 for a bad cursor (malformed, out of range, or made for another job, the other kind or the job list) or an out-of-range limit.",
            "parameters": [
              {
                "$ref": "#/components/parameters/OrganizationID"
              },
              {
                "$ref": "#/components/parameters/EventLimit"
              },
              {
                "$ref": "#/components/parameters/Cursor"
              }
            ],
            "responses": {
              "200": {
                "description": "A page of warnings.",
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/JobEventPage"
                    }
                  }
                }
              },
              "400": {
                "$ref": "#/components/responses/BadRequest"
              },
              "401": {
                "$ref": "#/components/responses/Unauthorized"
              },
              "403": {
                "$ref": "#/components/responses/Forbidden"
              },
              "429": {
                "$ref": "#/components/responses/TooManyRequests"
              },
              "404": {
                "$ref": "#/components/responses/NotFound"
              },
              "422": {
                "$ref": "#/components/responses/ValidationFailed"
              },
              "503": {
                "$ref": "#/components/responses/Unavailable"
              }
            }
          }
        },
        "/metrics": {
          "get": {
            "tags": [
              "operations"
            ],
            "operationId": "metrics",
            "summary": "Prometheus metrics",
            "description": "Prometheus text exposition format: http_requests_total and http_request_duration_seconds by method, route template and status; db_pool_* gauges and db_pool_acquire_seconds; jobs_created_total, jobs_progress_updates_applied_total, jobs_terminal_total by status, idempotent_replays_total.",
            "responses": {
              "200": {
                "description": "Metrics.",
                "content": {
                  "text/plain": {
                    "schema": {
                      "type": "string"
                    }
                  }
                }
              }
            },
            "security": []
          }
        },
        "/healthz": {
          "get": {
            "tags": [
              "operations"
            ],
            "operationId": "healthz",
            "summary": "Liveness",
            "description": "200 while the process runs.",
            "responses": {
              "200": {
                "description": "Alive.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "properties": {
                        "status": {
                          "type": "string",
                          "const": "ok"
                        }
                      },
                      "required": [
                        "status"
                      ]
                    }
                  }
                }
              }
            },
            "security": []
          }
        },
        "/readyz": {
          "get": {
            "tags": [
              "operations"
            ],
            "operationId": "readyz",
            "summary": "Readiness",
            "description": "200 when the database answers and its migrations are current; 503 otherwise.",
            "responses": {
              "200": {
                "description": "Ready.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "properties": {
                        "status": {
                          "type": "string",
                          "const": "ready"
                        }
                      },
                      "required": [
                        "status"
                      ]
                    }
                  }
                }
              },
              "503": {
                "description": "The database is unreachable or migrations are pending.",
                "headers": {
                  "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {
                      "type": "integer",
                      "minimum": 0
                    }
                  }
                },
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object",
                      "properties": {
                        "status": {
                          "type": "string",
                          "const": "unavailable"
                        },
                        "detail": {
                          "type": "string"
                        }
                      },
                      "required": [
                        "status",
                        "detail"
                      ]
                    }
                  }
                }
              }
            },
            "security": []
          }
        },
        "/openapi.json": {
          "get": {
            "tags": [
              "operations"
            ],
            "operationId": "getOpenAPIDocument",
            "summary": "This document",
            "description": "The OpenAPI 3.1 description of this server.",
            "responses": {
              "200": {
                "description": "The OpenAPI document.",
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object"
                    }
                  }
                }
              }
            },
            "security": []
          }
        }
      },
      "components": {
        "securitySchemes": {
          "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`jak_...`, for workers) or a session token (for people)."
          },
          "sessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": "stytch_session",
            "description": "A session token from the browser. Ignored when an `Authorization` header is present."
          }
        },
        "schemas": {
          "JobStatusValue": {
            "type": "string",
            "enum": [
              "pending",
              "in_progress",
              "completed",
              "completed_with_warnings",
              "partial_success",
              "failed",
              "cancelled"
            ],
            "description": "Job status. `completed`, `completed_with_warnings`, `partial_success`, `failed` and `cancelled` are terminal."
          },
          "Job": {
            "type": "object",
            "description": "A job. Every property is always present; null values are sent as `null`.",
            "properties": {
              "job_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "Server-generated, URL-safe, unguessable and roughly time-ordered identifier (at most 64 characters)."
              },
              "organization_id": {
                "type": "string",
                "description": "The organization the job belongs to."
              },
              "job_type": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": "Kind of job, e.g. `enrichment`, `crawl`, `import`, `export`."
              },
              "status": {
                "$ref": "#/components/schemas/JobStatusValue"
              },
              "total_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Total items to process."
              },
              "processed_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items successfully processed (set by the worker)."
              },
              "failed_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items that failed: each appended error whose `entity_type` is not `\"job\"` adds one."
              },
              "warned_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items that finished with warnings: each appended warning whose `entity_type` is not `\"job\"` adds one."
              },
              "progress_percentage": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "min(100, 100 * (processed_items + failed_items) / total_items), rounded to 2 decimals; 0 when total_items is 0; 100 for `completed`, `completed_with_warnings` and `partial_success`."
              },
              "success_rate": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "100 * processed_items / (processed_items + failed_items), rounded to 2 decimals; 0 when both are 0."
              },
              "error_count": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Errors the job has in all (including errors about the job itself)."
              },
              "warning_count": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Warnings the job has in all."
              },
              "metadata": {
                "type": "object",
                "additionalProperties": true,
                "description": "Free-form metadata (at most 256 KiB as compact JSON; numbers in plain decimal form). Progress reports set `stage` and `last_message`; `errors_truncated` / `warnings_truncated` become true once the per-job event cap (default 100,000 each) is reached."
              },
              "error_message": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Why the job failed or was cancelled; null otherwise."
              },
              "errors": {
                "type": "array",
                "maxItems": 100,
                "items": {
                  "$ref": "#/components/schemas/JobEvent"
                },
                "description": "The most recent 100 errors, oldest first. The full history is at `GET /api/jobs/{job_id}/errors`."
              },
              "warnings": {
                "type": "array",
                "maxItems": 100,
                "items": {
                  "$ref": "#/components/schemas/JobEvent"
                },
                "description": "The most recent 100 warnings, oldest first. The full history is at `GET /api/jobs/{job_id}/warnings`."
              },
              "triggered_by": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Who started the job (by default the session's user id; null for an API key)."
              },
              "created_at": {
                "type": "string",
                "format": "date-time",
                "description": "Creation time. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "updated_at": {
                "type": "string",
                "format": "date-time",
                "description": "Last time a request changed the job. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "started_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "When `mark_started` moved the job to `in_progress`; null if it never started. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "completed_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "When the job reached a terminal status; null before. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "duration_seconds": {
                "type": [
                  "number",
                  "null"
                ],
                "description": "(completed_at, or now while running) - started_at, in seconds rounded to 3 decimals; null while `started_at` is null."
              }
            },
            "required": [
              "job_id",
              "organization_id",
              "job_type",
              "status",
              "total_items",
              "processed_items",
              "failed_items",
              "warned_items",
              "progress_percentage",
              "success_rate",
              "error_count",
              "warning_count",
              "metadata",
              "error_message",
              "errors",
              "warnings",
              "triggered_by",
              "created_at",
              "updated_at",
              "started_at",
              "completed_at",
              "duration_seconds"
            ],
            "additionalProperties": false
          },
          "JobSummary": {
            "type": "object",
            "description": "A job without its `errors` and `warnings` (list view).",
            "properties": {
              "job_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "Server-generated, URL-safe, unguessable and roughly time-ordered identifier (at most 64 characters)."
              },
              "organization_id": {
                "type": "string",
                "description": "The organization the job belongs to."
              },
              "job_type": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": "Kind of job, e.g. `enrichment`, `crawl`, `import`, `export`."
              },
              "status": {
                "$ref": "#/components/schemas/JobStatusValue"
              },
              "total_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Total items to process."
              },
              "processed_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items successfully processed (set by the worker)."
              },
              "failed_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items that failed: each appended error whose `entity_type` is not `\"job\"` adds one."
              },
              "warned_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items that finished with warnings: each appended warning whose `entity_type` is not `\"job\"` adds one."
              },
              "progress_percentage": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "min(100, 100 * (processed_items + failed_items) / total_items), rounded to 2 decimals; 0 when total_items is 0; 100 for `completed`, `completed_with_warnings` and `partial_success`."
              },
              "success_rate": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "100 * processed_items / (processed_items + failed_items), rounded to 2 decimals; 0 when both are 0."
              },
              "error_count": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Errors the job has in all (including errors about the job itself)."
              },
              "warning_count": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Warnings the job has in all."
              },
              "metadata": {
                "type": "object",
                "additionalProperties": true,
                "description": "Free-form metadata (at most 256 KiB as compact JSON; numbers in plain decimal form). Progress reports set `stage` and `last_message`; `errors_truncated` / `warnings_truncated` become true once the per-job event cap (default 100,000 each) is reached."
              },
              "error_message": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Why the job failed or was cancelled; null otherwise."
              },
              "triggered_by": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Who started the job (by default the session's user id; null for an API key)."
              },
              "created_at": {
                "type": "string",
                "format": "date-time",
                "description": "Creation time. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "updated_at": {
                "type": "string",
                "format": "date-time",
                "description": "Last time a request changed the job. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "started_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "When `mark_started` moved the job to `in_progress`; null if it never started. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "completed_at": {
                "type": [
                  "string",
                  "null"
                ],
                "format": "date-time",
                "description": "When the job reached a terminal status; null before. RFC 3339 in UTC with a `Z` and millisecond precision."
              },
              "duration_seconds": {
                "type": [
                  "number",
                  "null"
                ],
                "description": "(completed_at, or now while running) - started_at, in seconds rounded to 3 decimals; null while `started_at` is null."
              }
            },
            "required": [
              "job_id",
              "organization_id",
              "job_type",
              "status",
              "total_items",
              "processed_items",
              "failed_items",
              "warned_items",
              "progress_percentage",
              "success_rate",
              "error_count",
              "warning_count",
              "metadata",
              "error_message",
              "triggered_by",
              "created_at",
              "updated_at",
              "started_at",
              "completed_at",
              "duration_seconds"
            ],
            "additionalProperties": false
          },
          "JobPage": {
            "type": "object",
            "description": "A page of jobs, newest first.",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/JobSummary"
                }
              },
              "next_cursor": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Opaque cursor for the next page; null on the last page."
              }
            },
            "required": [
              "items",
              "next_cursor"
            ],
            "additionalProperties": false
          },
          "JobStatus": {
            "type": "object",
            "description": "The cheap polling view of a job.",
            "properties": {
              "job_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "Server-generated, URL-safe, unguessable and roughly time-ordered identifier (at most 64 characters)."
              },
              "status": {
                "$ref": "#/components/schemas/JobStatusValue"
              },
              "progress_percentage": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "min(100, 100 * (processed_items + failed_items) / total_items), rounded to 2 decimals; 0 when total_items is 0; 100 for `completed`, `completed_with_warnings` and `partial_success`."
              },
              "processed_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items successfully processed (set by the worker)."
              },
              "failed_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items that failed: each appended error whose `entity_type` is not `\"job\"` adds one."
              },
              "warned_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Items that finished with warnings: each appended warning whose `entity_type` is not `\"job\"` adds one."
              },
              "total_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Total items to process."
              },
              "stage": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "`metadata.stage`, or null."
              },
              "error_message": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Why the job failed or was cancelled; null otherwise."
              },
              "updated_at": {
                "type": "string",
                "format": "date-time",
                "description": "Last time a request changed the job. RFC 3339 in UTC with a `Z` and millisecond precision."
              }
            },
            "required": [
              "job_id",
              "status",
              "progress_percentage",
              "processed_items",
              "failed_items",
              "warned_items",
              "total_items",
              "stage",
              "error_message",
              "updated_at"
            ],
            "additionalProperties": false
          },
          "JobEvent": {
            "type": "object",
            "description": "An error or a warning appended to a job.",
            "properties": {
              "entity_key": {
                "type": "string",
                "description": "The item (or job) the event is about."
              },
              "entity_type": {
                "type": "string",
                "description": "Kind of entity; `\"job\"` for events about the job itself."
              },
              "error_type": {
                "type": "string",
                "description": "Category of the error or warning."
              },
              "message": {
                "type": "string",
                "description": "Human-readable message."
              },
              "details": {
                "type": "object",
                "additionalProperties": true,
                "description": "Structured details."
              },
              "step": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Processing step, or null."
              },
              "timestamp": {
                "type": "string",
                "format": "date-time",
                "description": "Server time at which the event was appended. RFC 3339 in UTC with a `Z` and millisecond precision."
              }
            },
            "required": [
              "entity_key",
              "entity_type",
              "error_type",
              "message",
              "details",
              "step",
              "timestamp"
            ],
            "additionalProperties": false
          },
          "JobEventPage": {
            "type": "object",
            "description": "A page of a job's errors or warnings, oldest first.",
            "properties": {
              "items": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/JobEvent"
                }
              },
              "next_cursor": {
                "type": [
                  "string",
                  "null"
                ],
                "description": "Opaque cursor for the next page; null on the last page."
              }
            },
            "required": [
              "items",
              "next_cursor"
            ],
            "additionalProperties": false
          },
          "CreateJobRequest": {
            "type": "object",
            "description": "Body of `POST /api/jobs/`. Unknown fields and wrong types (no coercion) are a 422. Strings may not contain the NUL character (`\\u0000`): 422.",
            "properties": {
              "job_type": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "description": "Kind of job (1-100 characters)."
              },
              "total_items": {
                "type": "integer",
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Total items to process."
              },
              "metadata": {
                "type": [
                  "object",
                  "null"
                ],
                "additionalProperties": true,
                "default": {},
                "description": "Initial metadata (at most 256 KiB as compact JSON); null or absent means `{}`."
              },
              "triggered_by": {
                "type": [
                  "string",
                  "null"
                ],
                "minLength": 1,
                "maxLength": 1024,
                "description": "Who started the job. Absent: the session's user id, or null for an API key. An explicit `null` stores null."
              }
            },
            "required": [
              "job_type",
              "total_items"
            ],
            "additionalProperties": false
          },
          "ProgressEventInput": {
            "type": "object",
            "description": "An error or warning to append. Unknown fields are a 422. Strings may not contain the NUL character (`\\u0000`): 422.",
            "properties": {
              "entity_key": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "description": "The item (or job) the event is about."
              },
              "error_type": {
                "type": "string",
                "minLength": 1,
                "maxLength": 1024,
                "description": "Category of the error or warning."
              },
              "message": {
                "type": "string",
                "maxLength": 10000,
                "description": "Human-readable message (at most 10,000 characters)."
              },
              "details": {
                "type": [
                  "object",
                  "null"
                ],
                "additionalProperties": true,
                "default": {},
                "description": "Structured details (at most 16 KiB as compact JSON); null or absent means `{}`."
              },
              "entity_type": {
                "type": [
                  "string",
                  "null"
                ],
                "minLength": 1,
                "maxLength": 1024,
                "default": "job",
                "description": "Kind of entity; null or absent means `\"job\"`. Events whose entity_type is not `\"job\"` count in `failed_items` / `warned_items`."
              },
              "step": {
                "type": [
                  "string",
                  "null"
                ],
                "minLength": 1,
                "maxLength": 1024,
                "description": "Processing step, or null."
              }
            },
            "required": [
              "entity_key",
              "error_type",
              "message"
            ],
            "additionalProperties": false
          },
          "ProgressRequest": {
            "type": "object",
            "description": "Body of `POST /api/jobs/{job_id}/progress`. Every field is optional; `null` is the same as absent. Unknown fields and wrong types (no coercion: `\"5\"`, `5.0` or `true` for an integer) are a 422. Strings may not contain the NUL character (`\\u0000`): 422.",
            "properties": {
              "total_items": {
                "type": [
                  "integer",
                  "null"
                ],
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Set total_items."
              },
              "processed_items": {
                "type": [
                  "integer",
                  "null"
                ],
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Set processed_items. Together with `processed_items_delta`: 422."
              },
              "processed_items_delta": {
                "type": [
                  "integer",
                  "null"
                ],
                "minimum": 0,
                "maximum": 9007199254740991,
                "description": "Add to processed_items (for several workers sharing one job); a sum past 2^53 - 1 is a 422."
              },
              "metadata_patch": {
                "type": [
                  "object",
                  "null"
                ],
                "additionalProperties": true,
                "description": "JSON Merge Patch (RFC 7396) applied to `metadata`: objects merge recursively, a `null` value removes the key. The merged metadata must stay within 256 KiB as compact JSON (422)."
              },
              "stage": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 100,
                "description": "Stored as `metadata.stage`."
              },
              "message": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 10000,
                "description": "Stored as `metadata.last_message`."
              },
              "error": {
                "anyOf": [
                  {
                    "$ref": "#/components/schemas/ProgressEventInput"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "An error to append (server timestamp)."
              },
              "warning": {
                "anyOf": [
                  {
                    "$ref": "#/components/schemas/ProgressEventInput"
                  },
                  {
                    "type": "null"
                  }
                ],
                "description": "A warning to append (server timestamp)."
              },
              "mark_started": {
                "type": [
                  "boolean",
                  "null"
                ],
                "default": false,
                "description": "`pending` -> `in_progress` with `started_at` = now; no change if already `in_progress`."
              },
              "mark_completed": {
                "type": [
                  "boolean",
                  "null"
                ],
                "default": false,
                "description": "Complete the job with a derived status (see the operation). Together with `mark_failed`: 422."
              },
              "mark_failed": {
                "type": [
                  "string",
                  "null"
                ],
                "minLength": 1,
                "maxLength": 10000,
                "description": "Fail the job with this `error_message`."
              }
            },
            "required": [],
            "additionalProperties": false
          },
          "CancelRequest": {
            "type": "object",
            "description": "Optional body of `POST /api/jobs/{job_id}/cancel`. Unknown fields are a 422. Strings may not contain the NUL character (`\\u0000`): 422.",
            "properties": {
              "reason": {
                "type": [
                  "string",
                  "null"
                ],
                "maxLength": 10000,
                "description": "Stored as `error_message`; absent or null means `\"cancelled\"`."
              }
            },
            "required": [],
            "additionalProperties": false
          },
          "ErrorDetail": {
            "type": "object",
            "description": "Body of every error except 422.",
            "properties": {
              "detail": {
                "type": "string",
                "description": "One human sentence. 5xx bodies never contain SQL, stack traces or internal hostnames."
              },
              "code": {
                "type": "string",
                "description": "Stable machine-readable code: `bad_request`, `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `conflict`, `request_timeout`, `payload_too_large`, `unsupported_media_type`, `unavailable`, `internal_error`."
              }
            },
            "required": [
              "detail"
            ]
          },
          "ValidationError": {
            "type": "object",
            "description": "One validation problem (FastAPI style).",
            "properties": {
              "loc": {
                "type": "array",
                "minItems": 1,
                "items": {
                  "type": [
                    "string",
                    "integer"
                  ]
                },
                "description": "Where: starts with `body`, `query`, `path` or `header`, followed by field names and array indexes, e.g. `[\"body\", \"processed_items\"]`."
              },
              "msg": {
                "type": "string",
                "description": "Human-readable message."
              },
              "type": {
                "type": "string",
                "description": "Stable error type, e.g. `json_invalid` for malformed JSON."
              }
            },
            "required": [
              "loc",
              "msg",
              "type"
            ]
          },
          "HTTPValidationError": {
            "type": "object",
            "description": "Body of a 422.",
            "properties": {
              "detail": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/ValidationError"
                }
              }
            },
            "required": [
              "detail"
            ]
          }
        },
        "parameters": {
          "OrganizationID": {
            "name": "X-Organization-ID",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "The organization to act in. API key: optional, must equal the key's organization (403 otherwise). Session: the user must be a member (403 otherwise); without it, a user with exactly one membership acts in that organization, a user with several gets 400, a user with none gets 403. An empty value is a 400."
          },
          "JobID": {
            "name": "job_id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 64
            },
            "description": "The job's id. An id longer than 64 characters is a 404."
          },
          "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1,
              "maxLength": 255,
              "pattern": "^[\\x20-\\x7E]{1,255}$"
            },
            "description": "1-255 printable ASCII characters. Within 24 hours and per organization, a retry with the same key, method, path (without trailing slash) and JSON body replays the original successful response (status, body, and `Location` for a create) with `Idempotent-Replayed: true`, without applying anything again; concurrent identical requests are applied once. The same key with a different request, or a malformed key, is a 422 with `loc` `[\"header\", \"Idempotency-Key\"]`. Only 2xx responses are recorded, so a failed request can be retried with the same key."
          },
          "EventLimit": {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000,
              "default": 100
            },
            "description": "Page size (1-1000)."
          },
          "Cursor": {
            "name": "cursor",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "minLength": 1
            },
            "description": "Opaque cursor from the previous page's `next_cursor`; a bad cursor is a 422."
          }
        },
        "responses": {
          "BadRequest": {
            "description": "Bad header use: an empty `X-Organization-ID`, or a session user with several memberships and no `X-Organization-ID`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            }
          },
          "Unauthorized": {
            "description": "No credentials, or a malformed, unknown, expired or revoked token (the body never says which).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "WWW-Authenticate": {
                "description": "Always `Bearer`.",
                "schema": {
                  "type": "string",
                  "const": "Bearer"
                }
              }
            }
          },
          "Forbidden": {
            "description": "Not a member of the `X-Organization-ID` organization, an API key used with another organization's `X-Organization-ID`, a session user with no membership and no header, a missing permission (`Missing required permission: job:create`), or a write authenticated by the `stytch_session` cookie that the browser marks as cross-site (`Sec-Fetch-Site` other than `same-origin`/`none`, or an `Origin` that is neither this service nor in TRUSTED_ORIGINS).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            }
          },
          "NotFound": {
            "description": "Unknown job, a job of another organization, or a `job_id` longer than 64 characters.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            }
          },
          "RequestTimeout": {
            "description": "The request body did not arrive completely within REQUEST_TIMEOUT_SECONDS; the connection is closed.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            }
          },
          "PayloadTooLarge": {
            "description": "Request body larger than 1 MiB.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            }
          },
          "UnsupportedMediaType": {
            "description": "Non-empty body whose `Content-Type` is not `application/json`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            }
          },
          "ValidationFailed": {
            "description": "Validation error (see the operation for the cases).",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HTTPValidationError"
                }
              }
            }
          },
          "TooManyRequests": {
            "description": "This client address caused too many failed token lookups (AUTH_FAILURE_BURST, refilled at AUTH_FAILURES_PER_SECOND); retry after `Retry-After` seconds.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              }
            }
          },
          "Unavailable": {
            "description": "The database is unavailable (`code` `unavailable`, `Retry-After: 5`), or busy (`code` `database_busy`, `Retry-After: 1`): a statement ran past DB_STATEMENT_TIMEOUT_MS, a row lock was not granted within DB_LOCK_TIMEOUT_MS, or a deadlock persisted through the server's own retries. Also when the connection broke before a commit was confirmed: the change may or may not have been applied, so retry with the same `Idempotency-Key`.",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ErrorDetail"
                }
              }
            },
            "headers": {
              "Retry-After": {
                "description": "Seconds to wait before retrying.",
                "schema": {
                  "type": "integer",
                  "minimum": 0
                }
              }
            }
          }
        }
      }
    }
    """#
}
