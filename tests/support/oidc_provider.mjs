// A real OpenID Provider for the tests: the certified oidc-provider package, on loopback.
//
//   node tests/support/oidc_provider.mjs PORT APP_BASE_URL CLIENT_ID CLIENT_SECRET
//
// One confidential client (client_secret_basic, PKCE required) whose redirect URI is
// APP_BASE_URL/login/oidc/callback. The login page (/interaction/UID) is a form whose field `login` names one
// of ACCOUNTS; posting it signs that account in with the account's amr and acr, and the grant of the scopes
// asked for follows at once (no consent page).
//
// For tests of what a relying party must refuse, POST /test/tamper with JSON {"id_token": MODE} changes the
// next ID tokens the token endpoint returns: "expired" (exp an hour ago), "nonce" (another nonce) — both
// signed again with the provider's own key — or "foreign-key" (signed with a key the provider does not
// publish), or null (as issued). The tampering happens inside the provider, between it and the app.
import crypto from 'node:crypto';
import http from 'node:http';

import { CompactSign, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK } from 'jose';
import Provider from 'oidc-provider';

const [port, appBaseUrl, clientId, clientSecret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const ACCOUNTS = {
  officer: { email: 'officer@agency.test', email_verified: true, amr: ['pwd'], employee_id: 'E-100' },
  staff_mfa: { email: 'coordinator@agency.test', email_verified: true, amr: ['pwd', 'mfa'], employee_id: 'E-200' },
  staff_pwd: { email: 'coordinator@agency.test', email_verified: true, amr: ['pwd'], employee_id: 'E-200' },
  staff_acr: { email: 'coordinator@agency.test', email_verified: true, amr: ['pwd'], acr: 'urn:test:loa:high' },
  unverified: { email: 'officer@agency.test', email_verified: false, amr: ['pwd'] },
  stranger: { email: 'nobody@agency.test', email_verified: true, amr: ['pwd'] },
  by_employee_id: { email: 'personal@mail.test', email_verified: true, amr: ['pwd'], employee_id: 'E-100' },
  demo_officer: { email: 'Officer@Demo.test', email_verified: true, amr: ['pwd'] },
};

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: 'rollcall-test-key', alg: 'RS256', use: 'sig' };
const { privateKey: foreignKey } = await generateKeyPair('RS256', { extractable: true });
let tamper = null;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [`${appBaseUrl}/login/oidc/callback`],
    post_logout_redirect_uris: [`${appBaseUrl}/login`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  claims: {
    openid: ['sub', 'acr', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'employee_id'],
  },
  acrValues: ['urn:test:loa:basic', 'urn:test:loa:high'],
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  // OIDC_CONFORM=1: the ID token carries no scope claims (email...), which only userinfo gives, as Login.gov does.
  conformIdTokenClaims: process.env.OIDC_CONFORM === '1',
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        const { amr, acr, ...claims } = account;
        return { sub: id, name: id, ...claims };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'employee_id']);
    await grant.save();
    return grant;
  },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Error</title><p>${out.error}: ${out.error_description}</p>`;
  },
});

async function resign(idToken) {
  const payload = decodeJwt(idToken);
  const header = decodeProtectedHeader(idToken);
  let key = await importJWK(signingJwk, 'RS256');
  if (tamper === 'expired') {
    payload.iat -= 7200;
    payload.exp = Math.floor(Date.now() / 1000) - 3600;
  } else if (tamper === 'nonce') {
    payload.nonce = 'not-the-nonce-the-app-sent';
  } else if (tamper === 'foreign-key') {
    key = foreignKey;
  }
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader(header).sign(key);
}

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && tamper && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token) };
  }
});

const page = (uid, note) => `<!doctype html><html lang="en"><head><title>Test provider sign-in</title></head>
<body><main><h1>Test provider sign-in</h1>${note ? `<p>${note}</p>` : ''}
<form method="post" action="/interaction/${uid}"><label for="login">Account</label>
<input id="login" name="login" autocomplete="username"><button type="submit">Sign in</button></form></main></body></html>`;

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/test/tamper' && req.method === 'POST') {
      tamper = JSON.parse(await readBody(req)).id_token ?? null;
      res.writeHead(204).end();
      return;
    }
    const match = url.pathname.match(/^\/interaction\/([^/]+)$/);
    if (match) {
      const details = await provider.interactionDetails(req, res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(details.uid));
        return;
      }
      const login = new URLSearchParams(await readBody(req)).get('login');
      const account = ACCOUNTS[login];
      if (!account) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' }).end(page(details.uid, 'No such account.'));
        return;
      }
      const result = { login: { accountId: login, amr: account.amr, ...(account.acr ? { acr: account.acr } : {}) } };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      return;
    }
    callback(req, res);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
  }
});

server.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`listening on ${issuer}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
