#!/usr/bin/env python3
"""Validates a CAS service ticket with python-cas (PyPI `python-cas`, module `cas`), the way a
Python web application (Flask, Django) would, and prints what it learnt as JSON.

    CAS_BASE=http://127.0.0.1:8080/t/main  python3 verify.py TICKET SERVICE_URL
    CAS_BASE=...  SERVICE_URL=...          python3 verify.py TICKET
    CAS_BASE=...  SERVICE_URL=...          python3 verify.py            (login URL only)
    CAS_BASE=...                           python3 verify.py --logout < MESSAGE

CAS_BASE is the provider's tenant URL (its CAS server is CAS_BASE/cas/); SERVICE_URL is the
service URL registered with `idp cas-service add --service` (the one the ticket was issued
for). CAS_CA_FILE, when set, is the CA (PEM) to trust for an https provider.

On success it prints {"login_url": ..., "user": ..., "attributes": {...}} and exits 0; a
multi-valued attribute is a list. A refused ticket prints the provider's answer on stderr
and exits 1. python-cas's CAS 3 client validates at CAS_BASE/cas/p3/serviceValidate.

`--logout` reads a single-logout message (the `logoutRequest` form field the provider POSTs
to the service) on stdin and prints the ticket it names, as python-cas reads it.
"""

import json
import os
import sys

import requests  # python-cas's own HTTP client
from cas import CASClient


def main() -> int:
    base = os.environ.get("CAS_BASE", "").rstrip("/")
    if not base:
        print("set CAS_BASE to the provider's tenant URL", file=sys.stderr)
        return 2
    args = sys.argv[1:]

    # python-cas joins endpoint names onto server_url, so it must end with a slash.
    server_url = base + "/cas/"
    # `verify_ssl_certificate` is handed to requests as `verify`: True, False or a CA file.
    verify = os.environ.get("CAS_CA_FILE") or True

    if args[:1] == ["--logout"]:
        message = sys.stdin.read()
        indexes = CASClient(version=3, server_url=server_url).get_saml_slos(message)
        if not indexes:
            print("not a logoutRequest", file=sys.stderr)
            return 1
        print(indexes[0].text)
        return 0

    ticket = args[0] if args else None
    service_url = args[1] if len(args) > 1 else os.environ.get("SERVICE_URL")
    if not service_url:
        print("give the service URL as the second argument or SERVICE_URL", file=sys.stderr)
        return 2

    client = CASClient(
        version=3,
        service_url=service_url,
        server_url=server_url,
        verify_ssl_certificate=verify,
    )
    login_url = client.get_login_url()
    if ticket is None:
        print(login_url)
        return 0

    # What client.verify_ticket(ticket) does, in two steps so that a refusal can be shown.
    try:
        response = client.get_verification_response(ticket)
    except requests.RequestException as e:  # no connection, an untrusted certificate, ...
        print(f"cannot reach the provider: {e}", file=sys.stderr)
        return 1
    try:
        user, attributes, _pgtiou = client.verify_response(response)
    except Exception as e:  # not XML at all
        print(f"unreadable answer ({e}): {response!r}", file=sys.stderr)
        return 1
    if not user:
        print(response.decode("utf-8", "replace"), file=sys.stderr)
        return 1
    print(json.dumps({"login_url": login_url, "user": user, "attributes": attributes or {}},
                     ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
