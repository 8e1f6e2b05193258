#!/usr/bin/env python3
"""A SAML 2.0 service provider built on PyPI `pysaml2` (which drives the Debian `xmlsec1`
binary for signatures), as a Python department system would use it, without a web framework.

Configuration (environment):
    SAML_IDP_METADATA   file with the provider's metadata ({tenant URL}/saml/metadata)
    SP_ENTITY      this service provider's entity ID, e.g. http://127.0.0.1:8092/sp
    SP_ACS         its assertion consumer service (HTTP-POST), e.g. http://127.0.0.1:8092/acs
    SP_KEY SP_CERT its key and certificate (PEM), e.g. from
                   openssl req -x509 -newkey rsa:2048 -nodes -keyout sp.key -out sp.crt -subj /CN=sp -days 365
    SIGN_REQUESTS  1 to sign AuthnRequests (and say so in the metadata); default 0
    SP_SLO         optional: its single logout service (HTTP-Redirect)

Commands (each prints JSON on stdout; a refusal exits 1 with the reason on stderr):
    sp.py metadata                         the SP's metadata XML (register it with
                                           `idp saml-sp add --metadata FILE`)
    sp.py login [--binding redirect|post] [--force] [--passive] [--nameid FORMAT]
                [--context CLASS]... [--comparison exact|minimum|maximum|better]
                                           {"request_id", "location"} (redirect) or
                                           {"request_id", "action", "SAMLRequest", "RelayState"} (post)
    sp.py acs [REQUEST_ID] < SAMLResponse  checks the Response (signatures, audience, destination,
                                           InResponseTo, time) and prints {"name_id", "name_id_format",
                                           "session_index", "authn_context", "attributes"};
                                           without REQUEST_ID an unsolicited (IdP-initiated) one
    sp.py logout NAME_ID SESSION_INDEX     a signed HTTP-Redirect LogoutRequest: {"request_id", "location"}
    sp.py logout-request < QUERY           checks the provider's Redirect LogoutRequest (the query
                                           string of its URL, signature included): {"name_id",
                                           "session_indexes"}
    sp.py logout-response < QUERY          checks the provider's Redirect LogoutResponse: {"status"}
"""

import argparse
import json
import os
import sys

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, xmldsig
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.samlp import RequestedAuthnContext
from saml2.saml import AuthnContextClassRef


def config(unsolicited=False):
    env = os.environ
    sign = env.get("SIGN_REQUESTS") == "1"
    c = {
        "entityid": env["SP_ENTITY"],
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "key_file": env["SP_KEY"],
        "cert_file": env["SP_CERT"],
        # the same key decrypts assertions encrypted for the SP's certificate
        "encryption_keypairs": [{"key_file": env["SP_KEY"], "cert_file": env["SP_CERT"]}],
        "accepted_time_diff": 60,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(env["SP_ACS"], BINDING_HTTP_POST)],
                    "single_logout_service": [(env["SP_SLO"], BINDING_HTTP_REDIRECT)] if env.get("SP_SLO") else [],
                },
                "authn_requests_signed": sign,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "allow_unsolicited": unsolicited,
                "signing_algorithm": xmldsig.SIG_RSA_SHA256,
                "digest_algorithm": xmldsig.DIGEST_SHA256,
            }
        },
    }
    if env.get("SAML_IDP_METADATA"):
        c["metadata"] = {"local": [env["SAML_IDP_METADATA"]]}
    conf = SPConfig()
    conf.load(c)
    return conf


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("metadata")
    login = sub.add_parser("login")
    login.add_argument("--binding", choices=["redirect", "post"], default="redirect")
    login.add_argument("--force", action="store_true")
    login.add_argument("--passive", action="store_true")
    login.add_argument("--nameid")
    login.add_argument("--context", action="append", default=[])
    login.add_argument("--comparison", default="exact")
    login.add_argument("--relay-state", default="/after-login")
    acs = sub.add_parser("acs")
    acs.add_argument("request_id", nargs="?")
    lo = sub.add_parser("logout")
    lo.add_argument("name_id")
    lo.add_argument("session_index")
    sub.add_parser("logout-request")
    sub.add_parser("logout-response")
    a = p.parse_args()

    if a.cmd == "metadata":
        sys.stdout.write(create_metadata_string(None, config=config(), valid=24 * 365, sign=False).decode())
        return 0
    if a.cmd == "login":
        client = Saml2Client(config=config())
        idp = next(iter(client.metadata.identity_providers()))
        kwargs = {}
        if a.force:
            kwargs["force_authn"] = "true"
        if a.passive:
            kwargs["is_passive"] = "true"
        if a.nameid:
            kwargs["nameid_format"] = a.nameid
        if a.context:
            kwargs["requested_authn_context"] = RequestedAuthnContext(
                authn_context_class_ref=[AuthnContextClassRef(text=c) for c in a.context], comparison=a.comparison
            )
        binding = BINDING_HTTP_REDIRECT if a.binding == "redirect" else BINDING_HTTP_POST
        sign = os.environ.get("SIGN_REQUESTS") == "1"
        req_id, info = client.prepare_for_authenticate(
            entityid=idp,
            relay_state=a.relay_state,
            binding=binding,
            sigalg=xmldsig.SIG_RSA_SHA256 if sign else None,
            digest_alg=xmldsig.DIGEST_SHA256,
            **kwargs,
        )
        if binding == BINDING_HTTP_REDIRECT:
            print(json.dumps({"request_id": req_id, "location": dict(info["headers"])["Location"]}))
        else:
            # the POST binding's form: pull the action and fields out of pysaml2's HTML
            import re

            html = info["data"]
            action = re.search(r'action="([^"]+)"', html).group(1)
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', html))
            print(json.dumps({"request_id": req_id, "action": action, **fields}))
        return 0
    if a.cmd == "acs":
        client = Saml2Client(config=config(unsolicited=a.request_id is None))
        outstanding = {a.request_id: "/after-login"} if a.request_id else {}
        try:
            resp = client.parse_authn_request_response(sys.stdin.read().strip(), BINDING_HTTP_POST, outstanding=outstanding)
        except Exception as e:  # pysaml2 raises many kinds: say which, and fail
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            return 1
        if resp is None:
            print("no response", file=sys.stderr)
            return 1
        info = resp.session_info()
        authn = resp.authn_info()
        print(
            json.dumps(
                {
                    "name_id": resp.name_id.text,
                    "name_id_format": resp.name_id.format,
                    "session_index": info.get("session_index"),
                    "authn_context": authn[0][0] if authn else None,
                    "attributes": resp.get_identity(),
                    "issuer": resp.issuer(),
                }
            )
        )
        return 0
    if a.cmd == "logout":
        from saml2.saml import NameID, NAMEID_FORMAT_PERSISTENT

        client = Saml2Client(config=config())
        idp = next(iter(client.metadata.identity_providers()))
        destination = client.metadata.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")[0]["location"]
        name_id = NameID(text=a.name_id, format=NAMEID_FORMAT_PERSISTENT, name_qualifier=idp, sp_name_qualifier=os.environ["SP_ENTITY"])
        req_id, req = client.create_logout_request(destination, idp, name_id=name_id, session_indexes=[a.session_index], sign=False)
        info = client.apply_binding(BINDING_HTTP_REDIRECT, str(req), destination, "/after-logout", sign=True, sigalg=xmldsig.SIG_RSA_SHA256)
        print(json.dumps({"request_id": req_id, "location": dict(info["headers"])["Location"]}))
        return 0
    if a.cmd in ("logout-request", "logout-response"):
        from urllib.parse import parse_qs

        query = sys.stdin.read().strip()
        q = {k: v[0] for k, v in parse_qs(query).items()}
        client = Saml2Client(config=config())
        try:
            if a.cmd == "logout-request":
                req = client.parse_logout_request(
                    q["SAMLRequest"], BINDING_HTTP_REDIRECT, relay_state=q.get("RelayState"),
                    sigalg=q.get("SigAlg"), signature=q.get("Signature"),
                )
                if req is None:
                    raise ValueError("not verified")
                m = req.message
                print(json.dumps({"name_id": m.name_id.text, "session_indexes": [i.text for i in m.session_index]}))
            else:
                # pysaml2 reads a Redirect LogoutResponse without checking its query signature:
                # check it here, over the URL-encoded values as received (Bindings §3.4.4.1)
                import base64

                from cryptography import x509
                from cryptography.hazmat.primitives import hashes
                from cryptography.hazmat.primitives.asymmetric import padding

                raw = dict(p.split("=", 1) for p in query.split("&"))
                signed = "&".join(f"{k}={raw[k]}" for k in ("SAMLResponse", "RelayState", "SigAlg") if k in raw)
                if q.get("SigAlg") != xmldsig.SIG_RSA_SHA256:
                    raise ValueError("not signed with RSA-SHA256")
                idp = next(iter(client.metadata.identity_providers()))
                verified = False
                for _, cert in client.metadata.certs(idp, "idpsso", "signing"):
                    key = x509.load_der_x509_certificate(base64.b64decode(cert)).public_key()
                    try:
                        key.verify(base64.b64decode(q["Signature"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256())
                        verified = True
                    except Exception:
                        pass
                if not verified:
                    raise ValueError("the LogoutResponse's signature does not verify")
                resp = client.parse_logout_request_response(q["SAMLResponse"], BINDING_HTTP_REDIRECT)
                if resp is None:
                    raise ValueError("not a LogoutResponse")
                print(json.dumps({"status": resp.response.status.status_code.value, "relay_state": q.get("RelayState")}))
        except Exception as e:
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            return 1
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
