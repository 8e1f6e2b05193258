#!/usr/bin/env bash
# A development PKI for HTTPS and mutual TLS, generated fresh into certs/dev/ (git-ignored):
# ca.pem (the CA certificate; its key is discarded), server.pem + server-key.pem (localhost,
# 127.0.0.1, ::1 and any names given), client-identity.pem (a client certificate and key).
# Never for production. Usage: certs/make-dev-certs.sh [extra-name…]
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for n in "$@"; do args+=(--name "$n"); done
cargo run --quiet --release --bin idp -- dev-certs --out certs/dev "${args[@]}"
