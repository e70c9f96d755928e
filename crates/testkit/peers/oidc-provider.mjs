// A real OpenID provider (npm oidc-provider) for Palisade's tests, on loopback only.
// Starts two independent issuers (own keys, own ports) so tests can mix them up, and
// prints one JSON line with their URLs when ready. The "user" is chosen by the test:
// `login_hint` carries the claims to assert (sub, email, email_verified, name, amr,
// acr) and optionally `tamper`, which makes the token endpoint hand out a deliberately
// broken ID token (wrong audience, expired, wrong nonce, bad signature, ...). The
// interaction (login, consent) completes without a page, so a plain HTTP client with a
// cookie jar can play the browser.
//
// Environment: PALISADE_OIDC_REDIRECT_URIS (JSON array), PALISADE_OIDC_CLIENT_SECRET.
import http from 'node:http';
import Provider from 'oidc-provider';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const CLIENT_ID = 'palisade';
const clientSecret = process.env.PALISADE_OIDC_CLIENT_SECRET;
const redirectUris = JSON.parse(process.env.PALISADE_OIDC_REDIRECT_URIS || '[]');

async function newKey(kid) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { privateKey, jwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

function listen() {
  return new Promise((resolve) => {
    const server = http.createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const b64json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

async function startIssuer(label, keys, peers) {
  const server = await listen();
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const accounts = new Map();
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [keys.jwk] },
    cookies: { keys: [`palisade-test-${label}`] },
    claims: { openid: ['sub', 'amr', 'acr'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => {
        const a = accounts.get(sub) || {};
        return { sub, email: a.email, email_verified: a.email_verified, name: a.name };
      },
    }),
  });
  provider.proxy = false;

  // Finishes login and consent at once, as the user the test described.
  provider.use(async (ctx, next) => {
    if (!ctx.path.startsWith('/interaction/')) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const hint = JSON.parse(details.params.login_hint || '{}');
    let result;
    if (details.prompt.name === 'login') {
      accounts.set(hint.sub, hint);
      result = { login: { accountId: hint.sub, amr: hint.amr, acr: hint.acr } };
    } else {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result = { consent: { grantId: await grant.save() } };
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(to);
  });

  // Breaks the ID token on the way out when the user asked for it.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token' || ctx.status !== 200 || !ctx.body || !ctx.body.id_token) return;
    const [header, payload] = ctx.body.id_token.split('.');
    const claims = b64json(payload);
    const mode = (accounts.get(claims.sub) || {}).tamper;
    if (!mode) return;
    const now = Math.floor(Date.now() / 1000);
    const sign = (c, key = keys) =>
      new SignJWT(c).setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid, typ: 'JWT' }).sign(key.privateKey);
    switch (mode) {
      case 'aud': ctx.body.id_token = await sign({ ...claims, aud: 'someone-else' }); break;
      case 'expired': ctx.body.id_token = await sign({ ...claims, iat: now - 7200, exp: now - 3600 }); break;
      case 'nonce': ctx.body.id_token = await sign({ ...claims, nonce: 'from-another-sign-in' }); break;
      case 'no-nonce': { const { nonce, ...rest } = claims; ctx.body.id_token = await sign(rest); break; }
      case 'iss': ctx.body.id_token = await sign({ ...claims, iss: peers.other() }); break;
      // Same key id, different key: a forged signature.
      case 'sig': ctx.body.id_token = await sign(claims, { ...peers.forger, jwk: { ...peers.forger.jwk, kid: keys.jwk.kid } }); break;
      case 'none': ctx.body.id_token = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`; break;
      case 'hs256': ctx.body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(clientSecret)); break;
      default: throw new Error(`unknown tamper mode ${mode}`);
    }
    void header;
  });

  server.on('request', provider.callback());
  return issuer;
}

const keysA = await newKey('a-1');
const keysB = await newKey('b-1');
const forger = await newKey('forger');
const issuers = [];
issuers.push(await startIssuer('a', keysA, { other: () => issuers[1], forger }));
issuers.push(await startIssuer('b', keysB, { other: () => issuers[0], forger }));
process.stdout.write(`${JSON.stringify({ issuers })}\n`);

// The test harness closes our stdin when it is done (or dies): exit with it.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
