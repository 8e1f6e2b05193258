// A real OpenID provider as the upstream of the identity-brokering interop test
// (tests/e2e/upstream_node.rs): node oidc-provider 9 with its development sign-in pages (any
// login is accepted and becomes the subject), one confidential client for the idp, PKCE
// required, the claims parameter, and `verified_claims` (OpenID Connect for Identity
// Assurance) for the subject "ada": the national platform's answer, simulated.
//
//   node provider.mjs PORT CALLBACK_URL CLIENT_SECRET
import Provider from 'oidc-provider';

const [port, callback, secret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const people = {
  ada: {
    name: '艾达',
    verified_claims: {
      verification: {
        trust_framework: 'cn_gov',
        assurance_level: 'face',
        time: '2026-11-30T08:00:00Z',
        evidence: [{ type: 'electronic_record', check_details: [{ check_method: 'data', txn: 'node-txn-7' }] }],
      },
      claims: { name: '艾达', id_number: '220102199003070013' },
    },
  },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'provincial-idp',
    client_secret: secret,
    redirect_uris: [callback],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  cookies: { keys: ['upstream-test-cookie-key-0123456789'] },
  claims: { openid: ['sub'], profile: ['name'], verified_claims: null },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
  },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...(people[id] || {}) };
      },
    };
  },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
