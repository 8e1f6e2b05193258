#!/bin/sh
# The protected page: the CAS user and the attributes mod_auth_cas passed on, one per line,
# as "user=<user>" and "attr:<NAME>=<value>" (NAME as CGI sees it: upper case, "_" for "-").
printf 'Content-Type: text/plain; charset=utf-8\n\n'
printf 'user=%s\n' "$REMOTE_USER"
printf 'header-user=%s\n' "$HTTP_CAS_USER"
env | grep '^HTTP_CAS_ATTR_' | sort | sed 's/^HTTP_CAS_ATTR_/attr:/'
