// A client that authenticates with private_key_jwt (RFC 7523) signed with SM2, by npm
// sm-crypto. Two uses:
//
//   node client_assertion.mjs keygen
//       prints {"jwk": <the public JWK to register in the client's jwks>, "private": <hex>}
//   node client_assertion.mjs sign CLIENT_ID TOKEN_ENDPOINT PRIVATE_HEX KID
//       prints a client_assertion for the token endpoint, valid for a minute
import { randomUUID } from 'node:crypto';
import smCrypto from 'sm-crypto';

const { sm2 } = smCrypto;
const userId = process.env.SM2_USER_ID || '1234567812345678';
const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const hexToB64url = (h) => Buffer.from(h, 'hex').toString('base64url');

const [command, ...args] = process.argv.slice(2);
if (command === 'keygen') {
  const { publicKey, privateKey } = sm2.generateKeyPairHex();
  const kid = 'sm2-' + publicKey.slice(2, 14);
  const jwk = { kty: 'EC', crv: 'sm2p256v1', x: hexToB64url(publicKey.slice(2, 66)), y: hexToB64url(publicKey.slice(66)), kid, use: 'sig', alg: 'SGD_SM3_SM2' };
  console.log(JSON.stringify({ jwk, private: privateKey }));
} else if (command === 'sign') {
  const [clientId, audience, privateKey, kid] = args;
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'SGD_SM3_SM2', typ: 'JWT', kid };
  const claims = { iss: clientId, sub: clientId, aud: audience, iat: now, exp: now + 60, jti: randomUUID() };
  const input = `${b64url(header)}.${b64url(claims)}`;
  const publicKey = sm2.getPublicKeyFromPrivateKey(privateKey);
  const signature = sm2.doSignature(input, privateKey, { der: false, hash: true, publicKey, userId });
  console.log(`${input}.${hexToB64url(signature)}`);
} else {
  console.error('usage: client_assertion.mjs keygen | sign CLIENT_ID TOKEN_ENDPOINT PRIVATE_HEX KID');
  process.exit(2);
}
