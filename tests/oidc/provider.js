// A real OpenID Connect provider (panva/oidc-provider) for the agency sign-in tests
// (tests/test_oidc.py). Started by the `oidc_provider` fixture; never part of the app.
//
// Listens on 127.0.0.1 (a free port), then prints one JSON line: {"issuer": "http://127.0.0.1:PORT"}.
//
// Environment:
//   STATE_FILE     a JSON file the tests rewrite between sign-ins, read again on every use:
//                  {"users": {"<sub>": {"password", "email", "name", "groups": [...],
//                                       "amr": [...], "acr": "..."}},
//                   "mode": {"audience": null | "<another client id>",
//                            "expired": false, "nonce": null | "<a nonce to put instead>",
//                            "bad_signature": false}}
//   REDIRECT_URIS  JSON list of the app's callback URLs (registered for the client "floorplans")
//   LOGOUT_URIS    JSON list of the app's post-logout URLs
//
// The "mode" makes the real provider misbehave the way a broken or hostile one would: an ID
// token issued (and signed by its own key) for another client, already expired, or carrying
// another nonce; or a JWKS whose key, under the kid the tokens name, is not the signing key.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const STATE_FILE = process.env.STATE_FILE;
const REDIRECT_URIS = JSON.parse(process.env.REDIRECT_URIS || '[]');
const LOGOUT_URIS = JSON.parse(process.env.LOGOUT_URIS || '[]');
const KID = 'floorplans-test-key';

function readState() {
  const state = JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  return { users: state.users || {}, mode: state.mode || {} };
}

function rsaJwk(kind) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = (kind === 'private' ? privateKey : publicKey).export({ format: 'jwk' });
  return { ...jwk, kid: KID, use: 'sig', alg: 'RS256' };
}

const signingKey = rsaJwk('private');
const impostorKey = rsaJwk('public'); // served in bad_signature mode, under the same kid

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function loginPage(uid, error) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Agency sign-in</title></head>
<body><h1>Test agency sign-in</h1>
${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">User name</label><input id="username" name="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Sign in</button>
</form></body></html>`;
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'floorplans',
        client_secret: 'floorplans-test-secret',
        redirect_uris: REDIRECT_URIS,
        post_logout_redirect_uris: LOGOUT_URIS,
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        // Another application of the same agency: an ID token meant for it is not ours.
        client_id: 'records-system',
        client_secret: 'records-system-test-secret',
        redirect_uris: ['http://127.0.0.1:9/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['floorplans-test-cookie-key'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      acr: null, amr: null, auth_time: null, sid: null, iss: null,
      // How the person signed in, in every ID token (as Keycloak's acr and amr mappers put it).
      openid: ['sub', 'acr', 'amr', 'auth_time'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'],
    },
    acrValues: ['urn:test:loa:1', 'urn:test:loa:2'],
    // Scope claims in the ID token too (as Entra ID and Keycloak put them), not only at userinfo.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    // First-party application: no consent screen (the agency's IT consented for everyone).
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, id) {
      const user = readState().users[id];
      if (!user) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id, email: user.email, email_verified: true, name: user.name, groups: user.groups || [],
          };
        },
      };
    },
    ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  });

  const issue = provider.IdToken.prototype.issue;
  provider.IdToken.prototype.issue = async function issueInMode(options = {}) {
    const { mode } = readState();
    let opts = options;
    if (options.use === 'idtoken') {
      if (mode.audience) this.client = await provider.Client.find(mode.audience);
      if (mode.nonce) this.set('nonce', mode.nonce);
      if (mode.expired) opts = { ...options, expiresAt: Math.floor(Date.now() / 1000) - 300 };
    }
    return issue.call(this, opts);
  };

  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/jwks' && readState().mode.bad_signature) {
      ctx.type = 'application/jwk-set+json';
      ctx.body = { keys: [impostorKey] };
      return;
    }
    const match = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!match) {
      await next();
      return;
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = loginPage(details.uid);
      return;
    }
    const form = await readForm(ctx.req);
    const username = form.get('username') || '';
    const user = readState().users[username];
    if (!user || user.password !== form.get('password')) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(details.uid, 'Wrong user name or password.');
      return;
    }
    const login = { accountId: username, amr: user.amr || ['pwd'] };
    if (user.acr) login.acr = user.acr;
    await provider.interactionFinished(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
  });

  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
