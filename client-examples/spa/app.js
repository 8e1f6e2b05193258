// A browser application signing people in with OpenID Connect in plain JavaScript: the
// authorization code flow with PKCE (S256), state and nonce; the code redeemed at the token
// endpoint as a public client; the ID token's signature verified with WebCrypto against the
// provider's JWKS (ES256, RS256, PS256, EdDSA), then iss, aud, exp and nonce; the person's name
// from UserInfo; RP-initiated logout. Tokens stay in this page's memory and sessionStorage
// (cleared on sign-out); nothing is sent anywhere but to the provider. Configuration comes from
// config.json next to this file (see README.md).

const $ = (id) => document.getElementById(id);
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
const random = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const json = async (res) => { const body = await res.json(); if (!res.ok) throw new Error(body.error_description || body.error || res.status); return body; };

const cfg = await json(await fetch("config.json"));
const meta = await json(await fetch(`${cfg.issuer}/.well-known/openid-configuration`));
if (meta.issuer !== cfg.issuer) throw new Error("the discovery document is for another issuer");

async function signIn() {
  const verifier = random(32);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const pending = { state: random(16), nonce: random(16), verifier };
  sessionStorage.setItem("pending", JSON.stringify(pending));
  const q = new URLSearchParams({
    response_type: "code", client_id: cfg.client_id, redirect_uri: cfg.redirect_uri, scope: cfg.scope || "openid profile",
    state: pending.state, nonce: pending.nonce, code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${meta.authorization_endpoint}?${q}`);
}

// The WebCrypto parameters for a JWS algorithm.
const algorithms = {
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  PS256: [{ name: "RSA-PSS", hash: "SHA-256" }, { name: "RSA-PSS", saltLength: 32 }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};

async function verifyIdToken(token, nonce) {
  const [h, p, s] = token.split(".");
  const header = JSON.parse(new TextDecoder().decode(fromB64url(h)));
  const claims = JSON.parse(new TextDecoder().decode(fromB64url(p)));
  const keys = (await json(await fetch(meta.jwks_uri))).keys;
  const jwk = keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error("the ID token is signed by an unknown key");
  const alg = jwk.alg || header.alg; // the key's own algorithm
  if (!algorithms[alg] || alg !== header.alg) throw new Error(`unexpected algorithm ${header.alg}`);
  const [importAlg, verifyAlg] = algorithms[alg];
  const key = await crypto.subtle.importKey("jwk", jwk, importAlg, false, ["verify"]);
  const ok = await crypto.subtle.verify(verifyAlg, key, fromB64url(s), new TextEncoder().encode(`${h}.${p}`));
  if (!ok) throw new Error("the ID token's signature is not valid");
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== meta.issuer) throw new Error("the ID token is from another issuer");
  if (!aud.includes(cfg.client_id)) throw new Error("the ID token is for another client");
  if (aud.length > 1 && claims.azp !== cfg.client_id) throw new Error("the ID token was issued to another client");
  if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now() - 60000) throw new Error("the ID token has expired");
  if (claims.nonce !== nonce) throw new Error("the ID token's nonce does not match");
  return claims;
}

async function callback(params) {
  const pending = JSON.parse(sessionStorage.getItem("pending") || "null");
  sessionStorage.removeItem("pending");
  history.replaceState(null, "", location.pathname);
  if (params.get("error")) throw new Error(`the provider said: ${params.get("error")}`);
  if (!pending || params.get("state") !== pending.state) throw new Error("this sign-in was not started here");
  if (params.get("iss") && params.get("iss") !== meta.issuer) throw new Error("the response is from another issuer");
  const tokens = await json(await fetch(meta.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: params.get("code"), redirect_uri: cfg.redirect_uri,
      client_id: cfg.client_id, code_verifier: pending.verifier,
    }),
  }));
  const claims = await verifyIdToken(tokens.id_token, pending.nonce);
  sessionStorage.setItem("session", JSON.stringify({ id_token: tokens.id_token, access_token: tokens.access_token, claims }));
}

async function show() {
  const session = JSON.parse(sessionStorage.getItem("session") || "null");
  if (!session) {
    $("status").textContent = "Not signed in";
    $("status").dataset.state = "signed-out";
    $("sign-in").hidden = false;
    return;
  }
  const info = await json(await fetch(meta.userinfo_endpoint, { headers: { Authorization: `Bearer ${session.access_token}` } }));
  $("status").textContent = "Signed in";
  $("status").dataset.state = "signed-in";
  $("name").textContent = info.name || info.preferred_username || info.sub;
  $("claims").textContent = JSON.stringify(session.claims, null, 2);
  $("claims").hidden = false;
  $("sign-out").hidden = false;
}

function signOut() {
  const session = JSON.parse(sessionStorage.getItem("session") || "null");
  sessionStorage.removeItem("session");
  const q = new URLSearchParams({ post_logout_redirect_uri: cfg.post_logout_redirect_uri || cfg.redirect_uri });
  if (session) q.set("id_token_hint", session.id_token);
  location.assign(`${meta.end_session_endpoint}?${q}`);
}

$("sign-in").addEventListener("click", signIn);
$("sign-out").addEventListener("click", signOut);
try {
  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) await callback(params);
  await show();
} catch (e) {
  $("status").textContent = `Error: ${e.message}`;
  $("status").dataset.state = "error";
  $("sign-in").hidden = false;
}
