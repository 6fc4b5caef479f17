# shellcheck shell=bash disable=SC2034  # (PG_* / JOBS_API_SWIFT_CMD results are read by callers)
# scripts/lib/pg.sh — helpers sourced by scripts/run and scripts/test: install what is missing,
# find the PostgreSQL server binaries, and create/start/stop private clusters that listen on a
# Unix socket only. As root, server-side commands run as the `postgres` user (runuser) and the
# cluster's folders are chowned to it; as an ordinary user everything runs as that user.
#
# Honours: JOBS_API_PG_BINDIR (folder holding initdb/pg_ctl/postgres), JOBS_API_SWIFT (the
# `swift` to use; a stand-in for tests of these scripts).
# Functions set PG_CLUSTER_CREATED / PG_CLUSTER_STARTED / PG_DB_CREATED (1 or 0) and PG_CLUSTER_OPTS
# (the `pg_ctl -o` options line) for callers.

PG_LOG_PREFIX=${PG_LOG_PREFIX:-pg.sh}

pg_log() { printf '%s: %s\n' "$PG_LOG_PREFIX" "$*" >&2; }
pg_die() { pg_log "error: $*"; exit 1; }
pg_is_root() { [[ $(id -u) -eq 0 ]]; }

# The account that owns the clusters' files and runs initdb/pg_ctl/postgres.
pg_owner() { if pg_is_root; then echo postgres; else id -un; fi; }

# Run a command as the cluster owner, from / (the caller's folder may be closed to postgres,
# e.g. under /root). Pass absolute paths only.
pg_as_owner() {
    if pg_is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# chown PATH... to the cluster owner when root (no-op otherwise).
pg_own() { if pg_is_root; then chown postgres:postgres "$@"; fi; }

pg_abspath() { realpath -m -- "$1"; }

# Short stable id for a path (socket folders live under /tmp and must stay short).
pg_path_hash() { printf '%s' "$1" | sha256sum | cut -c1-8; }

# Folder with initdb, pg_ctl and postgres; the newest installed major version wins.
pg_bindir() {
    local d
    if [[ -n ${JOBS_API_PG_BINDIR:-} ]]; then
        [[ -x $JOBS_API_PG_BINDIR/initdb && -x $JOBS_API_PG_BINDIR/pg_ctl ]] \
            || { pg_log "JOBS_API_PG_BINDIR=$JOBS_API_PG_BINDIR has no initdb/pg_ctl"; return 1; }
        echo "$JOBS_API_PG_BINDIR"; return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; return 0; fi
    fi
    while IFS= read -r d; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then echo "$d"; return 0; fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V -r)
    d=$(command -v initdb 2>/dev/null || true)
    if [[ -n $d ]]; then dirname -- "$d"; return 0; fi
    return 1
}

# A client tool (psql, pg_isready): from the server's folder if there, else from PATH.
pg_tool() {
    local bin
    bin=$(pg_bindir 2>/dev/null || true)
    if [[ -n $bin && -x $bin/$1 ]]; then echo "$bin/$1"; else command -v "$1"; fi
}

# Make sure the PostgreSQL server, libpq headers, pkg-config and curl are installed.
# Root: apt-get update (once) + install. Otherwise: say what to install and exit 1.
PG_APT_UPDATED=${PG_APT_UPDATED:-0}
pg_ensure_packages() {
    local missing=()
    pg_bindir >/dev/null 2>&1 || missing+=("postgresql (server: initdb, pg_ctl, postgres)")
    command -v psql >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 \
        || missing+=("postgresql-client (psql, pg_isready)")
    command -v pkg-config >/dev/null 2>&1 || missing+=("pkg-config")
    if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libpq; } \
        && [[ ! -f /usr/include/postgresql/libpq-fe.h ]]; then
        missing+=("libpq-dev (libpq headers)")
    fi
    command -v curl >/dev/null 2>&1 || missing+=("curl")
    ((${#missing[@]} == 0)) && return 0

    local what
    what=$(printf '%s, ' "${missing[@]}"); what=${what%, }
    if ! pg_is_root; then
        pg_log "missing: $what"
        pg_log "install them first (as root):"
        pg_log "  apt-get update && apt-get install -y postgresql libpq-dev pkg-config curl"
        exit 1
    fi
    pg_log "missing: $what — installing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if [[ $PG_APT_UPDATED != 1 ]]; then
        apt-get update -q >&2 || pg_die "apt-get update failed"
        PG_APT_UPDATED=1
    fi
    apt-get install -y -q --no-upgrade --no-install-recommends postgresql libpq-dev pkg-config curl </dev/null >&2 \
        || pg_die "apt-get install failed"
    pg_bindir >/dev/null 2>&1 || pg_die "PostgreSQL server binaries still not found after installing"
}

# Set JOBS_API_SWIFT_CMD to the swift to run: $JOBS_API_SWIFT if set, else `swift` (adding
# /opt/swift/usr/bin to PATH when it is not found). Call directly, not in $(...): PATH must stick.
jobs_api_find_swift() {
    if [[ -n ${JOBS_API_SWIFT:-} ]]; then JOBS_API_SWIFT_CMD=$JOBS_API_SWIFT; return 0; fi
    if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 \
        || pg_die "swift not found: install a Swift 6 toolchain (https://swift.org/install) or put it on PATH"
    JOBS_API_SWIFT_CMD=swift
}

# pg_cluster_running DATA_DIR — true when a postmaster runs on DATA_DIR.
pg_cluster_running() {
    local bin
    bin=$(pg_bindir) || return 1
    [[ -f $1/PG_VERSION ]] || return 1
    pg_as_owner "$bin/pg_ctl" -D "$(pg_abspath "$1")" status >/dev/null 2>&1
}

# pg_cluster_init DATA_DIR [extra initdb args] — initdb unless DATA_DIR already holds a cluster.
# The parent folder must be reachable by the owner (chown it first when it is a private temp dir).
pg_cluster_init() {
    local data bin out
    data=$(pg_abspath "$1"); shift
    PG_CLUSTER_CREATED=0
    [[ -f $data/PG_VERSION ]] && return 0
    bin=$(pg_bindir) || pg_die "PostgreSQL server binaries not found"
    mkdir -p -- "$data"
    [[ -z $(ls -A -- "$data") ]] || pg_die "$data exists, is not empty and holds no cluster"
    pg_own "$data"
    chmod 700 "$data"
    pg_as_owner test -w "$data" \
        || pg_die "$(pg_owner) cannot write $data (is a parent folder closed to it?)"
    if ! out=$(pg_as_owner "$bin/initdb" -D "$data" -A trust -U postgres \
                 --encoding=UTF8 --locale=C "$@" 2>&1); then
        printf '%s\n' "$out" >&2
        pg_die "initdb failed for $data"
    fi
    PG_CLUSTER_CREATED=1
}

# pg_wait_ready SOCKET_DIR PORT LOGFILE [TIMEOUT_SECONDS=30] — wait until connections are accepted.
pg_wait_ready() {
    local sock=$1 port=$2 logfile=$3 timeout=${4:-30} isready deadline
    isready=$(pg_tool pg_isready) || pg_die "pg_isready not found"
    deadline=$((SECONDS + timeout))
    until "$isready" -q -h "$sock" -p "$port" -U postgres -d postgres; do
        if ((SECONDS >= deadline)); then
            pg_log "PostgreSQL (socket $sock, port $port) not ready after ${timeout}s; end of $logfile:"
            tail -n 40 -- "$logfile" >&2 2>/dev/null || true
            return 1
        fi
        sleep 0.2
    done
}

# pg_cluster_start DATA_DIR SOCKET_DIR PORT LOGFILE [name=value ...] — start unless running,
# Unix socket only (listen_addresses=''), then wait until ready. Extra args become `-c` settings.
pg_cluster_start() {
    local data sock port=$3 logfile bin opts s
    data=$(pg_abspath "$1"); sock=$(pg_abspath "$2"); logfile=$(pg_abspath "$4"); shift 4
    PG_CLUSTER_STARTED=0
    bin=$(pg_bindir) || pg_die "PostgreSQL server binaries not found"
    opts="-c listen_addresses='' -c port=$port -c unix_socket_directories='$sock'"
    for s in "$@"; do opts+=" -c '$s'"; done
    PG_CLUSTER_OPTS=$opts   # the `pg_ctl -o` line that starts it this way again
    if pg_cluster_running "$data"; then
        pg_wait_ready "$sock" "$port" "$logfile" || return 1
        return 0
    fi
    # The socket path (SOCKET_DIR/.s.PGSQL.PORT) must fit in sun_path (107 bytes).
    ((${#sock} + 18 <= 107)) || pg_die "socket folder path too long for a Unix socket: $sock"
    mkdir -p -- "$sock"
    pg_own "$sock"
    chmod 700 "$sock"
    : >>"$logfile"
    pg_own "$logfile"
    if ! pg_as_owner "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 30 -o "$opts" start >/dev/null; then
        pg_log "pg_ctl start failed for $data; end of $logfile:"
        tail -n 40 -- "$logfile" >&2 || true
        return 1
    fi
    pg_wait_ready "$sock" "$port" "$logfile" || return 1
    PG_CLUSTER_STARTED=1
}

# pg_cluster_stop DATA_DIR — fast shutdown (immediate if that times out); no-op when not running.
pg_cluster_stop() {
    local data bin
    data=$(pg_abspath "$1")
    bin=$(pg_bindir) || return 0
    pg_cluster_running "$data" || return 0
    pg_as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || pg_as_owner "$bin/pg_ctl" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 \
        || { pg_log "could not stop the cluster in $data"; return 1; }
}

# pg_cluster_port DATA_DIR / pg_cluster_socket_dir DATA_DIR — what a running cluster uses
# (from postmaster.pid), so a cluster started with other settings is still reachable.
pg_cluster_port() { sed -n 4p -- "$1/postmaster.pid" 2>/dev/null; }
pg_cluster_socket_dir() { sed -n 5p -- "$1/postmaster.pid" 2>/dev/null; }

# pg_create_db SOCKET_DIR PORT NAME — create database NAME (as postgres) unless it exists.
pg_create_db() {
    local sock=$1 port=$2 name=$3 psql exists
    [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || pg_die "bad database name: $name"
    PG_DB_CREATED=0
    psql=$(pg_tool psql) || pg_die "psql not found"
    exists=$("$psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres -tA \
        -c "select 1 from pg_database where datname = '$name'") || pg_die "cannot query the cluster"
    [[ $exists == 1 ]] && return 0
    "$psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres \
        -c "create database $name" || pg_die "cannot create database $name"
    PG_DB_CREATED=1
}

# pg_port_in_use PORT — something listens on 127.0.0.1:PORT or a socket of that port is in a
# default folder (our clusters listen on private sockets, but a clash would confuse people).
pg_port_in_use() {
    local p=$1
    [[ -e /tmp/.s.PGSQL.$p || -e /var/run/postgresql/.s.PGSQL.$p ]] && return 0
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# pg_free_port START — START, or the next port up to START+100 that is not in use.
pg_free_port() {
    local p
    for ((p = $1; p <= $1 + 100 && p <= 65535; p++)); do
        pg_port_in_use "$p" || { echo "$p"; return 0; }
    done
    pg_die "no free port in $1..$(($1 + 100))"
}
