#!/bin/sh
# Fills httpd.conf.in and runs Apache with mod_auth_mellon in the foreground (Ctrl-C stops it).
#
#   SAML_IDP_METADATA_URL=http://127.0.0.1:8080/t/main/saml/metadata PORT=8093 \
#       WORK_DIR=/tmp/saml-apache client-examples/saml-apache/run.sh
#
# SAML_IDP_METADATA_URL  the provider's metadata ({tenant URL}/saml/metadata), fetched with curl at
#                   every start; or
# SAML_IDP_METADATA      a file with it
# PORT              where Apache listens on 127.0.0.1 (plain http; default 8093)
# WORK_DIR          where the service provider's key, certificate and metadata, the filled
#                   configuration and the logs go (default: a new temporary directory). The
#                   key pair and metadata are made once, with mellon_create_metadata, and kept:
#                   run again with the same WORK_DIR and the registration stays valid.
# NAME_ID_FORMAT    persistent (default) or transient: the NameIDFormat written into new
#                   metadata, which mellon then asks for in every AuthnRequest (without one it
#                   asks for transient: a new REMOTE_USER at every sign-in)
# SOAP_LOGOUT       1: new metadata also lists a SOAP SingleLogoutService, and the provider
#                   then ends mellon's sessions by back-channel instead of in the browser
# The protected page is http://127.0.0.1:$PORT/secret/; the service provider's entity ID is
# http://127.0.0.1:$PORT/secret/mellon/metadata, and its metadata file, printed at start, is
# what `idp saml-sp add --metadata` registers.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
port=${PORT:-8093}
work=${WORK_DIR:-$(mktemp -d)}
endpoint=http://127.0.0.1:$port/secret/mellon
entity=$endpoint/metadata
if [ -z "${SAML_IDP_METADATA_URL:-}" ] && [ -z "${SAML_IDP_METADATA:-}" ]; then
    echo "set SAML_IDP_METADATA_URL to {tenant URL}/saml/metadata, or SAML_IDP_METADATA to a file with it" >&2
    exit 1
fi
case ${NAME_ID_FORMAT:=persistent} in
    persistent | transient) ;;
    *) echo "NAME_ID_FORMAT is persistent or transient" >&2; exit 1 ;;
esac

mkdir -p "$work/sp"
chmod 755 "$work" "$work/sp"
if [ ! -f "$work/sp/sp.xml" ]; then
    # writes <entity ID with "_" for the other characters>.{key,cert,xml} into the current
    # directory: the key 0600, the rest world-readable
    (cd "$work/sp" && /usr/sbin/mellon_create_metadata "$entity" "$endpoint" >/dev/null)
    name=$(echo "$entity" | sed 's/[^0-9A-Za-z.]/_/g' | sed 's/__*/_/g')
    mv "$work/sp/$name.key" "$work/sp/sp.key"
    mv "$work/sp/$name.cert" "$work/sp/sp.cert"
    format=urn:oasis:names:tc:SAML:2.0:nameid-format:$NAME_ID_FORMAT
    soap=
    if [ "${SOAP_LOGOUT:-0}" = 1 ]; then
        soap="<SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:SOAP\" Location=\"$endpoint/logout\"/>"
    fi
    sed -e "s|^\( *\)<SingleLogoutService .*|&\n\1$soap|" \
        -e "s|^\( *\)<AssertionConsumerService|\1<NameIDFormat>$format</NameIDFormat>\n&|" \
        "$work/sp/$name.xml" | grep -v '^ *$' > "$work/sp/sp.xml"
    rm "$work/sp/$name.xml"
    chmod 644 "$work/sp/sp.xml"
fi

if [ -n "${SAML_IDP_METADATA_URL:-}" ]; then
    curl -fsS -o "$work/idp-metadata.xml" "$SAML_IDP_METADATA_URL"
elif ! [ "$SAML_IDP_METADATA" -ef "$work/idp-metadata.xml" ]; then
    cp "$SAML_IDP_METADATA" "$work/idp-metadata.xml"
fi
chmod 644 "$work/idp-metadata.xml"

# Apache's children read the key; started by root they run as nobody, so it must be theirs.
if [ "$(id -u)" = 0 ]; then
    user=nobody
    group=$(id -gn nobody)
    chown "$user" "$work/sp/sp.key"
else
    user=$(id -un)
    group=$(id -gn)
fi

sed -e "s|@SERVER_ROOT@|$work|g" \
    -e "s|@LISTEN@|127.0.0.1:$port|g" \
    -e "s|@SERVER_NAME@|127.0.0.1|g" \
    -e "s|@COOKIE@|cookie-$port|g" \
    -e "s|@SP_METADATA@|$work/sp/sp.xml|g" \
    -e "s|@SP_KEY@|$work/sp/sp.key|g" \
    -e "s|@SP_CERT@|$work/sp/sp.cert|g" \
    -e "s|@SAML_IDP_METADATA@|$work/idp-metadata.xml|g" \
    -e "s|@DOCUMENT_ROOT@|$here/htdocs|g" \
    -e "s|@USER@|$user|g" \
    -e "s|@GROUP@|$group|g" \
    "$here/httpd.conf.in" > "$work/httpd.conf"

echo "configuration and logs in $work" >&2
echo "service provider $entity; register its metadata with" >&2
echo "  idp saml-sp add --tenant main --name 'Apache mellon $port' --metadata $work/sp/sp.xml" >&2
echo "protected page http://127.0.0.1:$port/secret/" >&2
exec apache2 -f "$work/httpd.conf" -DFOREGROUND
