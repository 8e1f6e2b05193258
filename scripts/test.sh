#!/usr/bin/env bash
# The test suite, on a fresh machine as on a developer's: installs what the tests call (Debian
# packages, PyPI tools, the browser test's npm packages; each only when missing), then runs
# `cargo test --workspace --locked` with any extra arguments. Installing needs root (these
# machines run as root; elsewhere run it under sudo once, or install the listed tools yourself).
#
# The PostgreSQL tests use IDP_TEST_POSTGRES (default: the server on 127.0.0.1:5432, user
# postgres); `IDP_TEST_POSTGRES=off` skips them with a message, as `IDP_TEST_CONTAINERS=off`
# skips the container image test. CI (.ci/run) refuses both.
set -euo pipefail
cd "$(dirname "$0")/.."

# What tests call: prlimit (util-linux) fills the "disk" in the disk-full test; oathtool is the
# TOTP interop reference; Debian's Chromium with npm playwright-core runs the passkey pages in
# a real browser (tests/browser, versions pinned by its package-lock.json).
export DEBIAN_FRONTEND=noninteractive
need_pkg() {
    apt-get install -y "$@" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "$@" >/dev/null; }
}
need() {
    command -v "$1" >/dev/null && return
    need_pkg "$2"
}
# A PyPI tool: pip may need installing, and Debian's own Python refuses to install into
# itself without being told to (PEP 668).
need_pip() {
    command -v "$1" >/dev/null && return
    python3 -m pip --version >/dev/null 2>&1 || need_pkg python3-pip
    python3 -m pip install -q "$2" 2>/dev/null || python3 -m pip install -q --break-system-packages "$2"
}
need node nodejs
need npm npm
need prlimit util-linux
need oathtool oathtool
need chromium chromium
# Debian's slapd and ldap-utils: the staff directory tests (tests/e2e/directory.rs) start their
# own slapd; the package's own server is left unconfigured (and not started).
if ! command -v slapd >/dev/null; then
    echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
    need_pkg --no-install-recommends slapd
fi
need ldapmodify ldap-utils
# The deployment files' checks (idp/server/tests/deploy.rs): promtool from Debian's
# prometheus (the server is not started), systemd-analyze, and the offline Kubernetes schemas
# of PyPI kubernetes-validate (which brings PyYAML, for the compose file).
command -v promtool >/dev/null || need_pkg --no-install-recommends prometheus
need systemd-analyze systemd
need_pip kubernetes-validate kubernetes-validate==1.37.0
# The container image test (idp/server/tests/container.rs): podman, buildah and debootstrap
# from Debian (netavark needs iptables), podman-compose from PyPI. Two quirks of these
# machines, fixed here rather than in the test: the kernel leaves a controller (hugetlb) on the
# cgroup v2 hierarchy beside the v1 ones, which crun refuses ("hybrid mode"), so it is
# mounted as v1 too; and podman's default RLIMIT_NPROC/NOFILE exceed this sandbox's hard limits.
for tool in podman buildah debootstrap iptables; do need "$tool" "$tool"; done
dpkg -s netavark aardvark-dns >/dev/null 2>&1 || need_pkg --no-install-recommends netavark aardvark-dns
need_pip podman-compose podman-compose==1.5.0
v2_controllers=$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || true)
if [ -d /sys/fs/cgroup/cpu ] && [ -n "$v2_controllers" ]; then
    for c in $v2_controllers; do
        mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || true
    done
fi
if [ ! -e /etc/containers/containers.conf ]; then
    mkdir -p /etc/containers
    nofile=$(ulimit -Hn)
    [ "$nofile" = unlimited ] && nofile=1048576
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=4096:4096"]\n' "$nofile" "$nofile" \
        >/etc/containers/containers.conf
fi
# CAS clients nobody here wrote (tests/e2e/cas_interop.rs): Apereo's phpCAS run by PHP's CLI
# server, Apache with mod_auth_cas, and PyPI python-cas.
dpkg -s php-cli php-cas php-curl php-xml apache2 libapache2-mod-auth-cas >/dev/null 2>&1 ||
    need_pkg --no-install-recommends php-cli php-cas php-curl php-xml apache2 libapache2-mod-auth-cas
python3 -c 'import cas' 2>/dev/null || {
    python3 -m pip --version >/dev/null 2>&1 || need_pkg python3-pip
    python3 -m pip install -q python-cas==1.6.0 2>/dev/null ||
        python3 -m pip install -q --break-system-packages python-cas==1.6.0
}
# The Java CAS example (client-examples/cas-java), run by the JDK's single-file launcher.
command -v javac >/dev/null || need_pkg --no-install-recommends default-jdk-headless
# SAML service providers nobody here wrote (tests/e2e/saml.rs): PyPI pysaml2, which signs and
# verifies with Debian's xmlsec1 (the tests also verify the provider's signatures with it).
command -v xmlsec1 >/dev/null || need_pkg --no-install-recommends xmlsec1
# and Apache with mod_auth_mellon (tests/e2e/saml_mellon.rs)
dpkg -s libapache2-mod-auth-mellon >/dev/null 2>&1 || need_pkg --no-install-recommends libapache2-mod-auth-mellon
python3 -c 'import saml2' 2>/dev/null || {
    python3 -m pip install -q pysaml2==7.5.5 2>/dev/null ||
        python3 -m pip install -q --break-system-packages pysaml2==7.5.5
}
# A CJK font, so that the screenshots the browser tests keep show the Chinese pages as text.
[ -n "$(fc-list :lang=zh 2>/dev/null)" ] || need_pkg fonts-wqy-microhei
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
# node oidc-provider as the upstream OpenID provider of identity brokering (tests/e2e/upstream_node.rs)
(cd tests/upstream && npm ci --no-audit --no-fund --loglevel=error)
# SM2/SM3 implementations nobody here wrote (tests/e2e/sm_crypto.rs): npm sm-crypto in the
# Node.js relying-party example, PyPI gmssl in the Python one
(cd client-examples/sm2-node && npm ci --no-audit --no-fund --loglevel=error)
python3 -c 'import gmssl' 2>/dev/null || {
    python3 -m pip --version >/dev/null 2>&1 || need_pkg python3-pip
    python3 -m pip install -q gmssl==3.2.2 2>/dev/null ||
        python3 -m pip install -q --break-system-packages gmssl==3.2.2
}

# An HR system's SCIM client nobody here wrote (tests/e2e/scim.rs): PyPI scim2-client, over
# httpx2 (its extra), with the scim2-models it checks every answer against.
python3 -c 'import scim2_client.engines.httpx2' 2>/dev/null || {
    python3 -m pip --version >/dev/null 2>&1 || need_pkg python3-pip
    python3 -m pip install -q "scim2-client[httpx2]==0.13.2" scim2-models==0.12.3 2>/dev/null ||
        python3 -m pip install -q --break-system-packages "scim2-client[httpx2]==0.13.2" scim2-models==0.12.3
}

# The upgrade test (idp/server/tests/upgrade.rs) builds the previous release from history.
if [ "$(git rev-parse --is-shallow-repository 2>/dev/null)" = "true" ]; then
    git fetch --unshallow --quiet || echo "warning: a shallow clone; the upgrade test needs history" >&2
fi

# the whole workspace unless packages are named (cargo ignores -p beside --workspace)
workspace=--workspace
for a in "$@"; do
    case "$a" in -p | --package | -p?* | --package=*) workspace= ;; esac
done
exec cargo test $workspace --locked "$@"
