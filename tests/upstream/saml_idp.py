#!/usr/bin/env python3
"""A SAML 2.0 identity provider built on PyPI `pysaml2` (which drives Debian's `xmlsec1` for
signatures and encryption), as the upstream of the provider's brokered sign-in in
tests/e2e/upstream_saml.rs. It has no pages: each command reads what the browser carried and
prints what the browser would carry next, as JSON.

Configuration (environment):
    IDP_ENTITY    its entity ID
    IDP_SSO       its single sign-on service (HTTP-Redirect)
    IDP_SLO       its single logout service (HTTP-Redirect)
    IDP_KEY IDP_CERT  its key and certificate (PEM)
    SP_METADATA   a file with the provider's metadata for this upstream
                  ({tenant URL}/upstream/{id}/saml/metadata)

Commands:
    saml_idp.py metadata            its metadata XML
    saml_idp.py sso [options] < QUERY
        checks the AuthnRequest (the query string of the URL the provider sent the browser to,
        its signature included) and answers it for a person: {"action", "SAMLResponse",
        "RelayState", "request"}. Options: --user NAME (the persistent NameID), --attr NAME=VALUE
        (repeatable), --class CLASS_REF, --encrypt [gcm|cbc], --sign-response,
        --no-sign-assertion, --transient, --audience ENTITY (another audience).
    saml_idp.py logout NAME_ID [SESSION_INDEX]
        its own logout: a signed Redirect LogoutRequest to the provider, {"request_id", "location"}
    saml_idp.py logout-request < QUERY
        checks the provider's LogoutRequest and answers it: {"name_id", "name_qualifier",
        "session_indexes", "location"} (the location the signed LogoutResponse goes to)
    saml_idp.py logout-response < QUERY
        reads the provider's LogoutResponse: {"status", "relay_state", "signed"}
"""

import argparse
import functools
import json
import os
import sys
from urllib.parse import parse_qs

import saml2.entity
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, xmldsig
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT, NameID
from saml2.server import Server

AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
AES128_CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"


def config():
    env = os.environ
    c = {
        "entityid": env["IDP_ENTITY"],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "key_file": env["IDP_KEY"],
        "cert_file": env["IDP_CERT"],
        "accepted_time_diff": 60,
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [(env["IDP_SSO"], BINDING_HTTP_REDIRECT)],
                    "single_logout_service": [(env["IDP_SLO"], BINDING_HTTP_REDIRECT)],
                },
                "want_authn_requests_signed": True,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                "signing_algorithm": xmldsig.SIG_RSA_SHA256,
                "digest_algorithm": xmldsig.DIGEST_SHA256,
            }
        },
    }
    if env.get("SP_METADATA"):
        c["metadata"] = {"local": [env["SP_METADATA"]]}
    conf = IdPConfig()
    conf.load(c)
    return conf


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("metadata")
    sso = sub.add_parser("sso")
    sso.add_argument("--user", default="citizen-1")
    sso.add_argument("--attr", action="append", default=[])
    sso.add_argument("--class", dest="class_ref", default="urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
    sso.add_argument("--encrypt", choices=["gcm", "cbc"])
    sso.add_argument("--sign-response", action="store_true")
    sso.add_argument("--no-sign-assertion", action="store_true")
    sso.add_argument("--transient", action="store_true")
    sso.add_argument("--audience")
    lo = sub.add_parser("logout")
    lo.add_argument("name_id")
    lo.add_argument("session_index", nargs="*")
    sub.add_parser("logout-request")
    sub.add_parser("logout-response")
    a = p.parse_args()

    if a.cmd == "metadata":
        sys.stdout.write(create_metadata_string(None, config=config(), valid=24 * 365, sign=False).decode())
        return 0

    if a.cmd == "logout":
        # the identity provider's own logout: a signed Redirect LogoutRequest to the provider
        srv = Server(config=config())
        sp = next(iter(srv.metadata.service_providers()))
        destination = srv.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")[0]["location"]
        name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text=a.name_id, name_qualifier=srv.config.entityid, sp_name_qualifier=sp)
        req_id, req = srv.create_logout_request(destination, sp, name_id=name_id, session_indexes=a.session_index, sign=False)
        info = srv.apply_binding(BINDING_HTTP_REDIRECT, str(req), destination, "idp-relay", sign=True, sigalg=xmldsig.SIG_RSA_SHA256)
        print(json.dumps({"request_id": req_id, "location": dict(info["headers"])["Location"]}))
        return 0

    q = {k: v[0] for k, v in parse_qs(sys.stdin.read().strip()).items()}
    srv = Server(config=config())
    if a.cmd == "logout-request":
        # the provider's LogoutRequest (its query signature checked), answered as the browser
        # would be sent back
        try:
            req = srv.parse_logout_request(
                q["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=q.get("RelayState"),
                sigalg=q.get("SigAlg"), signature=q.get("Signature"),
            )
        except Exception as e:
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            return 1
        if req is None:
            print("the LogoutRequest does not verify", file=sys.stderr)
            return 1
        m = req.message
        resp = srv.create_logout_response(m, [BINDING_HTTP_REDIRECT], sign=False)
        sp = m.issuer.text
        destination = srv.metadata.single_logout_service(sp, BINDING_HTTP_REDIRECT, "spsso")[0]["location"]
        info = srv.apply_binding(
            BINDING_HTTP_REDIRECT, str(resp), destination, q.get("RelayState"), response=True, sign=True,
            sigalg=xmldsig.SIG_RSA_SHA256,
        )
        print(json.dumps({
            "name_id": m.name_id.text, "name_qualifier": m.name_id.name_qualifier,
            "session_indexes": [i.text for i in m.session_index],
            "location": dict(info["headers"])["Location"],
        }))
        return 0
    if a.cmd == "logout-response":
        resp = srv.parse_logout_request_response(q["SAMLResponse"], BINDING_HTTP_REDIRECT)
        if resp is None:
            print("not a LogoutResponse", file=sys.stderr)
            return 1
        print(json.dumps({"status": resp.response.status.status_code.value, "relay_state": q.get("RelayState"),
                          "signed": "Signature" in q}))
        return 0
    try:
        req = srv.parse_authn_request(
            q["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=q.get("RelayState"),
            sigalg=q.get("SigAlg"), signature=q.get("Signature"),
        )
    except Exception as e:  # pysaml2 raises many kinds: say which, and fail
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if req is None:
        print("the AuthnRequest does not verify", file=sys.stderr)
        return 1
    m = req.message
    sp = m.issuer.text
    if a.encrypt:
        # pysaml2 encrypts with 3DES-CBC unless told otherwise: this identity provider is told
        msg_enc, session = (AES256_GCM, "aes-256") if a.encrypt == "gcm" else (AES128_CBC, "aes-128")
        saml2.entity.pre_encryption_part = functools.partial(saml2.sigver.pre_encryption_part, msg_enc=msg_enc)
        encrypt = srv.sec.encrypt_assertion
        srv.sec.encrypt_assertion = lambda st, key, tpl, key_type=None, node_xpath=None: encrypt(
            st, key, tpl, key_type=session, node_xpath=node_xpath
        )
    identity = {}
    for kv in a.attr:
        k, v = kv.split("=", 1)
        identity.setdefault(k, []).append(v)
    name_id = NameID(
        format=NAMEID_FORMAT_TRANSIENT if a.transient else NAMEID_FORMAT_PERSISTENT,
        text=a.user, name_qualifier=srv.config.entityid, sp_name_qualifier=sp,
    )
    resp = srv.create_authn_response(
        identity=identity,
        in_response_to=m.id,
        destination=m.assertion_consumer_service_url,
        sp_entity_id=a.audience or sp,
        name_id=name_id,
        authn={"class_ref": a.class_ref, "authn_auth": srv.config.entityid},
        sign_response=a.sign_response,
        sign_assertion=not a.no_sign_assertion,
        encrypt_assertion=bool(a.encrypt),
        encrypt_assertion_self_contained=True,
        encrypt_cert_assertion=None,
        sign_alg=xmldsig.SIG_RSA_SHA256,
        digest_alg=xmldsig.DIGEST_SHA256,
    )
    info = srv.apply_binding(BINDING_HTTP_POST, str(resp), m.assertion_consumer_service_url, q.get("RelayState"), response=True)
    import re

    html = info["data"]
    action = re.search(r'action="([^"]+)"', html).group(1)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))
    print(json.dumps({"action": action, "request": m.id, **fields}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
