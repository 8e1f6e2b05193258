#!/usr/bin/env bash
# The side-by-side benchmark: builds the idp (release) and the load generator, installs node
# oidc-provider 9, runs both under the same load and writes docs/performance.md.
#   tests/bench/run.sh            idp on SQLite
#   tests/bench/run.sh --pg       idp on PostgreSQL (IDP_TEST_POSTGRES or the local server)
#   tests/bench/run.sh --scale    latencies at 1,000 tenants, 10,000 clients, 1,000,000 accounts
#                                 against an almost empty database (--tenants/--clients/--accounts N);
#                                 with --pg on PostgreSQL
# Other arguments go to idp-bench (--seconds N, --workers N).
set -euo pipefail
cd "$(dirname "$0")/../.."
args=()
scale=0
pg=0
for a in "$@"; do
    if [ "$a" = "--scale" ]; then
        args+=(--scale)
        scale=1
    elif [ "$a" = "--pg" ]; then
        # loopback: no TLS (its handshake alone costs ~110 ms of start-up here)
        args+=(--pg "${IDP_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}")
        pg=1
    else
        args+=("$a")
    fi
done
case "$scale$pg" in
    00) out=docs/performance.md ;;
    01) out=docs/performance-postgres.md ;;
    10) out=docs/performance-scale.md ;;
    11) out=docs/performance-scale-postgres.md ;;
esac
command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || echo "wrk unavailable: the Rust load generator drives every scenario"; }
(cd tests/bench && npm ci --no-audit --no-fund --silent)
cargo build --release --locked --bin idp --bin idp-bench
mkdir -p docs
bin="${CARGO_TARGET_DIR:-target}/release"
"$bin/idp-bench" --idp "$bin/idp" --node-script tests/bench/node-provider.mjs --out "$out" "${args[@]}"
