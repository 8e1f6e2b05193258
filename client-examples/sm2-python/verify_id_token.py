"""A relying party's check of an SM2-signed ID token with PyPI gmssl (3.2.2), a library nobody
on this project wrote. See docs/cryptography.md for the formats (GM/T 0125 names, r || s
signatures, the SM2 user ID "1234567812345678" that gmssl hard-codes, at_hash from SM3).

    python3 verify_id_token.py ISSUER CLIENT_ID ID_TOKEN [ACCESS_TOKEN]

Prints the verified claims as JSON and exits 0, or prints why not and exits 1.
"""

import base64
import json
import sys
import time
import urllib.request

from gmssl import func, sm2, sm3


def b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as res:
        return json.load(res)


def fail(why: str) -> None:
    print(json.dumps({"valid": False, "why": why}))
    sys.exit(1)


def main() -> None:
    issuer, client_id, id_token = sys.argv[1:4]
    access_token = sys.argv[4] if len(sys.argv) > 4 else None
    config = fetch(issuer + "/.well-known/openid-configuration")
    if config["issuer"] != issuer:
        fail("discovery names another issuer")
    jwks = fetch(config["jwks_uri"])
    parts = id_token.split(".")
    if len(parts) != 3:
        fail("not a compact JWS")
    header = json.loads(b64url(parts[0]))
    if header.get("alg") != "SGD_SM3_SM2":
        fail("alg " + str(header.get("alg")))
    jwk = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    if not jwk or jwk.get("kty") != "EC" or jwk.get("crv") != "sm2p256v1":
        fail("no SM2 key with that kid")
    public = b64url(jwk["x"]).hex() + b64url(jwk["y"]).hex()
    crypt = sm2.CryptSM2(private_key=None, public_key=public)
    # gmssl's constructor strips a leading "04" with str.lstrip, which also eats the start of
    # an x coordinate that begins with 0 or 4: set the key as given
    crypt.public_key = public
    signature = b64url(parts[2]).hex()
    if len(signature) != 128:
        fail("the signature is not r || s")
    if not crypt.verify_with_sm3(signature, (parts[0] + "." + parts[1]).encode("ascii")):
        fail("signature")
    claims = json.loads(b64url(parts[1]))
    aud = claims.get("aud")
    if claims.get("iss") != issuer:
        fail("iss")
    if client_id not in (aud if isinstance(aud, list) else [aud]):
        fail("aud")
    if not claims.get("exp", 0) > time.time():
        fail("expired")
    if access_token is not None:
        digest = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(access_token.encode("ascii"))))
        at_hash = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
        if claims.get("at_hash") != at_hash:
            fail("at_hash")
    print(json.dumps({"valid": True, "claims": claims}, ensure_ascii=False))


if __name__ == "__main__":
    main()
