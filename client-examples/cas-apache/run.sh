#!/bin/sh
# Fills httpd.conf.in and runs Apache with mod_auth_cas in the foreground (Ctrl-C stops it).
#
#   CAS_BASE=https://localhost:8443/t/main CAS_CA_FILE=certs/dev/ca.pem PORT=8091 \
#       client-examples/cas-apache/run.sh
#
# CAS_BASE     the provider's tenant URL, https as mod_auth_cas wants it (plain http works
#              too: mod_auth_cas 1.2 only warns "CASValidateURL should be HTTPS" at start)
# CAS_CA_FILE  the CA that signed the provider's certificate (`idp dev-certs` writes ca.pem);
#              without it, the system's CAs (mod_auth_cas needs a CA file or directory even
#              to validate over plain http)
# PORT         where Apache listens on 127.0.0.1 (plain http; default 8091)
# WORK_DIR     where the filled configuration, logs and session files go (default: a new
#              temporary directory)
# The protected page is http://127.0.0.1:$PORT/secured/ (register the service with
# `--service 'http://127.0.0.1:PORT/secured/*'`).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${CAS_BASE:?set CAS_BASE to the provider's https tenant URL}"
port=${PORT:-8091}
work=${WORK_DIR:-$(mktemp -d)}
base=${CAS_BASE%/}

mkdir -p "$work/cookies"
chmod 755 "$work"
# Apache's children read the CA and write the session files; started by root they run as
# nobody, so both must be theirs to use.
if [ -n "${CAS_CA_FILE:-}" ]; then
    cp "$CAS_CA_FILE" "$work/ca.pem"
    chmod 644 "$work/ca.pem"
    ca=$work/ca.pem
else
    ca=/etc/ssl/certs/
fi
if [ "$(id -u)" = 0 ]; then
    user=nobody
    group=$(id -gn nobody)
    chown "$user" "$work/cookies"
else
    user=$(id -un)
    group=$(id -gn)
fi

sed -e "s|@SERVER_ROOT@|$work|g" \
    -e "s|@LISTEN@|127.0.0.1:$port|g" \
    -e "s|@SERVER_NAME@|127.0.0.1|g" \
    -e "s|@CAS_LOGIN_URL@|$base/cas/login|g" \
    -e "s|@CAS_VALIDATE_URL@|$base/cas/serviceValidate|g" \
    -e "s|@CA_FILE@|$ca|g" \
    -e "s|@COOKIE_DIR@|$work/cookies/|g" \
    -e "s|@DOCUMENT_ROOT@|$here/htdocs|g" \
    -e "s|@USER@|$user|g" \
    -e "s|@GROUP@|$group|g" \
    "$here/httpd.conf.in" > "$work/httpd.conf"

echo "configuration, logs and sessions in $work" >&2
exec apache2 -f "$work/httpd.conf" -DFOREGROUND
