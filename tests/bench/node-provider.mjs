// The reference provider for the side-by-side benchmark: node oidc-provider 9 with its
// in-memory adapter, one static client, client credentials, introspection and revocation.
// Refresh tokens rotate on every use, as the idp's do, so both servers do the same work.
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2] || 3001);
const issuer = `http://127.0.0.1:${port}`;

const keys = [];
for (const [alg, kid] of [['RS256', 'rs'], ['ES256', 'es']]) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  keys.push({ ...(await exportJWK(privateKey)), alg, use: 'sig', kid });
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-0123456789abcdef0123456789',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    redirect_uris: ['http://127.0.0.1:1/cb'],
    response_types: ['code'],
    scope: 'openid offline_access api',
  }],
  jwks: { keys },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  scopes: ['openid', 'offline_access', 'api'],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => false,
      getResourceServerInfo: () => ({ scope: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
  rotateRefreshToken: () => true,
  pkce: { required: () => true },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
