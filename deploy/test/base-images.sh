#!/bin/sh
# Makes sure the three public base images deploy/ names are in local container storage:
#   docker.io/library/debian:bookworm-slim, docker.io/library/rust:1.95-bookworm and
#   docker.io/library/postgres:16.
# Each is pulled when a registry is reachable. Where none is (this project's CI machines reach
# Debian's archive, crates.io, PyPI and npm, not Docker Hub), a stand-in is built under the
# same name from Debian's packages, so deploy/Containerfile and deploy/compose.yaml are built
# and run exactly as shipped:
#   debian   debootstrap --variant=minbase bookworm (what the slim image is made from);
#   rust     that, plus the official image's build tools and this machine's Rust toolchain
#            (its version must be 1.95, as in the image's tag), installed where the official
#            image has it (/usr/local/cargo, /usr/local/rustup), trusting the machine's
#            own extra certificate authorities (a TLS-inspecting egress proxy, say);
#   postgres that, plus Debian's PostgreSQL 15 and an entrypoint honouring the official
#            image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB and PGDATA.
# Stand-ins are labelled org.example.idp.stand-in=true. Needs root, podman, buildah, debootstrap.
set -eu

DEBIAN=docker.io/library/debian:bookworm-slim
RUST=docker.io/library/rust:1.95-bookworm
POSTGRES=docker.io/library/postgres:16
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have() { podman image exists "$1"; }
pull() { timeout 120 podman pull -q "$1" >/dev/null 2>&1; }
say() { echo "base-images: $*" >&2; }

if ! have "$DEBIAN" && ! pull "$DEBIAN"; then
    say "building a stand-in for $DEBIAN with debootstrap"
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase bookworm "$root/fs" "$MIRROR" >"$root/log" 2>&1 \
        || { cat "$root/log" >&2; exit 1; }
    rm -rf "$root"/fs/var/cache/apt/archives/*.deb "$root"/fs/var/lib/apt/lists/*
    tar -C "$root/fs" -c . | podman import -q \
        --change 'CMD ["bash"]' --change 'LABEL org.example.idp.stand-in=true' \
        - "$DEBIAN" >/dev/null
    rm -rf "$root"
    trap - EXIT
fi

if ! have "$RUST" && ! pull "$RUST"; then
    say "building a stand-in for $RUST from $DEBIAN and this machine's toolchain"
    toolchain=$(rustc --print sysroot)
    case "$(rustc --version)" in
        "rustc 1.95."*) ;;
        *) say "the local toolchain is $(rustc --version), not 1.95"; exit 1 ;;
    esac
    ctr=$(buildah from --pull-never "$DEBIAN")
    buildah run "$ctr" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends ca-certificates curl git gcc g++ make \
        libc6-dev pkg-config file xz-utils >/dev/null && rm -rf /var/lib/apt/lists/*'
    # this machine's network may inspect TLS: the stand-in trusts what the machine trusts
    if [ -d /usr/local/share/ca-certificates ]; then
        buildah copy -q "$ctr" /usr/local/share/ca-certificates /usr/local/share/ca-certificates >/dev/null
        buildah run "$ctr" update-ca-certificates >/dev/null
    fi
    for part in bin lib libexec etc; do
        buildah copy -q "$ctr" "$toolchain/$part" "/usr/local/rustup/toolchains/1.95-x86_64-unknown-linux-gnu/$part" >/dev/null
    done
    buildah run "$ctr" sh -c 'mkdir -p /usr/local/cargo/bin && \
        for b in /usr/local/rustup/toolchains/1.95-x86_64-unknown-linux-gnu/bin/*; do \
            ln -s "$b" /usr/local/cargo/bin/; done'
    buildah config --env RUSTUP_HOME=/usr/local/rustup --env CARGO_HOME=/usr/local/cargo \
        --env PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --label org.example.idp.stand-in=true "$ctr"
    buildah commit -q --rm "$ctr" "$RUST" >/dev/null
fi

if ! have "$POSTGRES" && ! pull "$POSTGRES"; then
    say "building a stand-in for $POSTGRES from $DEBIAN and Debian's PostgreSQL"
    ctr=$(buildah from --pull-never "$DEBIAN")
    buildah run "$ctr" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null \
        && rm -rf /var/lib/apt/lists/*'
    buildah copy -q --chmod 0755 "$ctr" "$(dirname "$0")/postgres-entrypoint.sh" \
        /usr/local/bin/docker-entrypoint.sh >/dev/null
    buildah config --env PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env PGDATA=/var/lib/postgresql/data --port 5432 --stop-signal SIGINT \
        --entrypoint '["/usr/local/bin/docker-entrypoint.sh"]' --cmd '["postgres"]' \
        --label org.example.idp.stand-in=true "$ctr"
    buildah commit -q --rm "$ctr" "$POSTGRES" >/dev/null
fi
