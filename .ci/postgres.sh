#!/bin/sh
# Make the PostgreSQL server binaries (initdb, pg_ctl, postgres) available to the tests
# of the reservation store. Idempotent: installs Debian's postgresql package only when
# initdb cannot be found, then prints where the binaries are.
set -eu

# Print the folder holding initdb, pg_ctl and postgres: PATH first, then the newest
# Debian install under /usr/lib/postgresql/<version>/bin (the same order as the tests).
find_bindir() {
    initdb=$(command -v initdb 2>/dev/null || true)
    if [ -n "$initdb" ] && command -v pg_ctl >/dev/null 2>&1 \
        && command -v postgres >/dev/null 2>&1; then
        dirname "$initdb"
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if ! bindir=$(find_bindir); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "postgres.sh: PostgreSQL is not installed and installing it needs root" >&2
        exit 1
    fi
    echo "postgres.sh: initdb not found, installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends postgresql
    if ! bindir=$(find_bindir); then
        echo "postgres.sh: installed postgresql but still no initdb/pg_ctl/postgres" >&2
        exit 1
    fi
fi

echo "postgres.sh: PostgreSQL binaries in $bindir"
for tool in initdb pg_ctl postgres; do
    echo "  $(readlink -f "$bindir/$tool")"
done
"$bindir/postgres" --version
if id postgres >/dev/null 2>&1; then
    echo "postgres.sh: user 'postgres' exists (the tests run the server as it when root)"
elif [ "$(id -u)" -eq 0 ]; then
    echo "postgres.sh: no 'postgres' user; the tests will run the server as 'nobody'"
fi
