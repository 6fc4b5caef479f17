# syntax=docker/dockerfile:1
# Dockerfile — jobs-api image: build a release binary with the Swift runtime linked statically,
# then run it on debian:bookworm-slim with only libpq and CA certificates, as a non-root user.
#   docker build -t jobs-api .
#   docker run --rm -e DATABASE_URL=postgres://... jobs-api migrate
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://... jobs-api          # serve
# Statically checked by scripts/check-deploy (no Docker engine on the dev machine).

# ---- build -------------------------------------------------------------------------------------
# 6.2 or newer: several dependencies declare swift-tools-version 6.2.
FROM swift:6.2-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Manifest (and Package.resolved when present) first, so dependency resolution is cached.
COPY Package.* ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product jobs-api \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/jobs-api" /staging/jobs-api \
    && cp -R "$(swift build -c release --show-bin-path)/jobs-api_JobsHTTP.resources" /staging/

# ---- runtime -----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
               --shell /usr/sbin/nologin jobs-api
COPY --from=build /staging/jobs-api /usr/local/bin/jobs-api
# The resource bundle read from beside the binary: the OpenAPI document (GET /openapi.json) and the dashboard (/dashboard).
COPY --from=build /staging/jobs-api_JobsHTTP.resources /usr/local/bin/jobs-api_JobsHTTP.resources
COPY sql/migrations /usr/share/jobs-api/migrations
ENV MIGRATIONS_DIR=/usr/share/jobs-api/migrations \
    HOST=0.0.0.0 \
    PORT=8080
USER 10001:10001
WORKDIR /
EXPOSE 8080
# No HEALTHCHECK here (the slim image has no HTTP client); docker-compose.yml probes /readyz.
# Exec form: jobs-api is PID 1 and receives SIGTERM itself (graceful shutdown).
ENTRYPOINT ["jobs-api"]
CMD ["serve"]
