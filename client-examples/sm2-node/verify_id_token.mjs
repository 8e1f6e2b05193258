// A relying party's check of an ID token signed with SM2 (GB/T 32918.2, SM3 digest), as a
// tenant on the `sm` or `dual` cryptography profile issues it, with npm sm-crypto — a library
// nobody on this project wrote. See docs/cryptography.md for the formats:
//   header alg "SGD_SM3_SM2" (GM/T 0125.1), JWK kty "EC" crv "sm2p256v1" (GM/T 0125.4),
//   signature r || s (64 bytes, base64url), SM2 user ID "1234567812345678" unless the tenant
//   sets another (SM2_USER_ID), at_hash the left half of SM3(access token).
//
//   node verify_id_token.mjs ISSUER CLIENT_ID ID_TOKEN [ACCESS_TOKEN]
//
// Prints the verified claims as JSON and exits 0, or prints why not and exits 1.
import smCrypto from 'sm-crypto';

const { sm2, sm3 } = smCrypto;
const [issuer, clientId, idToken, accessToken] = process.argv.slice(2);
const userId = process.env.SM2_USER_ID || '1234567812345678';

const b64urlToHex = (s) => Buffer.from(s, 'base64url').toString('hex');
const fail = (why) => {
  console.log(JSON.stringify({ valid: false, why }));
  process.exit(1);
};

const config = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
if (config.issuer !== issuer) fail('discovery names another issuer');
if (!config.id_token_signing_alg_values_supported.includes('SGD_SM3_SM2')) fail('SM2 not offered');
const jwks = await (await fetch(config.jwks_uri)).json();

const parts = idToken.split('.');
if (parts.length !== 3) fail('not a compact JWS');
const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
if (header.alg !== 'SGD_SM3_SM2') fail(`alg ${header.alg}`);
const jwk = jwks.keys.find((k) => k.kid === header.kid);
if (!jwk || jwk.kty !== 'EC' || jwk.crv !== 'sm2p256v1') fail('no SM2 key with that kid');
const publicKey = '04' + b64urlToHex(jwk.x) + b64urlToHex(jwk.y);
const signature = b64urlToHex(parts[2]);
if (signature.length !== 128) fail('the signature is not r || s');
const signed = sm2.doVerifySignature(`${parts[0]}.${parts[1]}`, signature, publicKey, {
  der: false,
  hash: true,
  userId,
});
if (!signed) fail('signature');

const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
const now = Math.floor(Date.now() / 1000);
if (claims.iss !== issuer) fail('iss');
if (![claims.aud].flat().includes(clientId)) fail('aud');
if (!(claims.exp > now)) fail('expired');
if (accessToken !== undefined) {
  const digest = sm3(accessToken); // hex of SM3 over the token's ASCII bytes
  const atHash = Buffer.from(digest.slice(0, 32), 'hex').toString('base64url');
  if (claims.at_hash !== atHash) fail('at_hash');
}
console.log(JSON.stringify({ valid: true, claims }));
