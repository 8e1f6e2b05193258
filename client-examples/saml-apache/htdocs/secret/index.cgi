#!/bin/sh
# The protected page: the SAML NameID mellon passed on as REMOTE_USER and the MELLON_*
# variables (attributes, NameID, session), one per line: "user=<NameID>", "MELLON_<name>=<value>".
printf 'Content-Type: text/plain; charset=utf-8\n\n'
printf 'user=%s\n' "$REMOTE_USER"
env | grep '^MELLON_' | sort
