// Development-only OpenID Connect provider for ForwardAuth demos and tests.
// NOT for production: any login/password is accepted. Configuration: see README.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash, generateKeyPairSync } from 'node:crypto';
import Provider, { errors, interactionPolicy } from 'oidc-provider';

// oidc-provider prints "NOTICE: default X called" via console.info, i.e. to stdout.
// Tests read stdout for the single "listening" line, so push notices to stderr.
console.info = console.error;

const env = process.env;
const list = (v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);
const int = (name, dflt) => (env[name] ? Number.parseInt(env[name], 10) : dflt);
if (!env.PORT) { console.error('PORT is required'); process.exit(2); }
const PORT = int('PORT');
const HOST = env.HOST || '127.0.0.1'; // loopback only: anyone who reaches it can log in as anyone
const ISSUER = env.ISSUER || `http://localhost:${PORT}`;
const AUTO_LOGIN = env.AUTO_LOGIN || '';
const RESOURCE = env.ACCESS_TOKEN_RESOURCE || '';
const TTL = {
  AccessToken: int('ACCESS_TOKEN_TTL', 300),
  IdToken: int('ID_TOKEN_TTL', 300),
  RefreshToken: int('REFRESH_TOKEN_TTL', 86400),
  ...(env.SESSION_TTL && { Session: int('SESSION_TTL') }),
};
// A grant outliving its refresh tokens/session keeps refresh working until the RT itself expires.
TTL.Grant = Math.max(TTL.RefreshToken, TTL.Session ?? 14 * 86400);

// Signing keys: a JWKS file keeps the kid stable across restarts and lets tests mint
// tokens with the same key; it is created on first use. Without JWKS_FILE: in-memory key.
function newSigningKey() {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const kid = createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return { ...jwk, kid, alg: 'RS256', use: 'sig' }; // kid = RFC 7638 thumbprint
}
let jwks;
if (env.JWKS_FILE && existsSync(env.JWKS_FILE)) jwks = JSON.parse(readFileSync(env.JWKS_FILE, 'utf8'));
else {
  jwks = { keys: [newSigningKey()] };
  if (env.JWKS_FILE) writeFileSync(env.JWKS_FILE, `${JSON.stringify(jwks, null, 2)}\n`, { mode: 0o600 });
}

// Users are derived from the login name; USERS_FILE entries override/extend those claims.
const BUILTIN_GROUPS = { alice: ['admins', 'users'], bob: ['users'] };
const USERS = env.USERS_FILE ? JSON.parse(readFileSync(env.USERS_FILE, 'utf8')) : {};
const STANDARD = ['sub', 'email', 'email_verified', 'preferred_username', 'name', 'groups'];
// Extra claims from USERS_FILE are released with the "profile" scope, else they'd be dropped.
const extraClaims = [...new Set(Object.values(USERS).flatMap(Object.keys))].filter((c) => !STANDARD.includes(c));
function userClaims(login) {
  const email = login.includes('@') ? login : `${login}@example.com`;
  const username = login.split('@')[0];
  return {
    sub: login, email, email_verified: true, preferred_username: username,
    name: username.charAt(0).toUpperCase() + username.slice(1),
    groups: BUILTIN_GROUPS[login] ?? [], ...USERS[login], // sub stays the login below
  };
}
// CLAIM_PROFILE: the groups as real providers shape them (released with the "groups" scope, in ID token and userinfo),
// instead of the plain `groups` array:
//   zitadel        role map: {"urn:zitadel:iam:org:project:roles": {"admins": {"<org id>": "<org domain>"}, ...}}
//   auth0          namespaced claims: {"https://forwardauth.example/roles": ["admins", ...]} and, as an Auth0 Action
//                  copying app_metadata would, {"https://forwardauth.example/app_metadata": {"roles": ["admins", ...]}}
//   cognito        {"cognito:groups": ["admins", ...]}
//   entra-overage  no groups, only the pointer to Microsoft Graph: {"_claim_names": {"groups": "src1"}, "_claim_sources": {...}}
const CLAIM_PROFILE = env.CLAIM_PROFILE || '';
const PROFILE_CLAIMS = {
  '': [],
  zitadel: ['urn:zitadel:iam:org:project:roles'],
  auth0: ['https://forwardauth.example/roles', 'https://forwardauth.example/app_metadata'],
  cognito: ['cognito:groups'],
  'entra-overage': ['_claim_names', '_claim_sources'],
};
if (!(CLAIM_PROFILE in PROFILE_CLAIMS)) { console.error(`unknown CLAIM_PROFILE ${CLAIM_PROFILE}`); process.exit(2); }
function shaped(claims) {
  if (!CLAIM_PROFILE) return claims;
  const { groups, ...rest } = claims;
  switch (CLAIM_PROFILE) {
    case 'zitadel':
      return { ...rest, 'urn:zitadel:iam:org:project:roles': Object.fromEntries(groups.map((g) => [g, { 290469151411822594: 'example.com' }])) };
    case 'auth0':
      return { ...rest, 'https://forwardauth.example/roles': groups, 'https://forwardauth.example/app_metadata': { roles: groups } };
    case 'cognito': return { ...rest, 'cognito:groups': groups };
    default: // entra-overage: the token has no room for the groups and says where to fetch them
      return {
        ...rest,
        _claim_names: { groups: 'src1' },
        _claim_sources: { src1: { endpoint: `https://graph.windows.net/example.com/users/${claims.sub}/getMemberObjects` } },
      };
  }
}
const findAccount = (ctx, id) => ({ accountId: id, claims: () => shaped({ ...userClaims(id), sub: id }) });

const client = {
  client_id: env.CLIENT_ID || 'forwardauth',
  client_secret: env.CLIENT_SECRET || 'forwardauth-dev-secret',
  redirect_uris: list(env.REDIRECT_URIS),
  post_logout_redirect_uris: list(env.POST_LOGOUT_REDIRECT_URIS),
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  token_endpoint_auth_method: env.TOKEN_AUTH_METHOD || 'client_secret_basic',
  // session_required puts `sid` into ID and logout tokens, so the RP can match sessions.
  ...(env.BACKCHANNEL_LOGOUT_URI && { backchannel_logout_uri: env.BACKCHANNEL_LOGOUT_URI, backchannel_logout_session_required: true }),
};

// Step-up: acr_values is honoured, not only recorded. A login whose session's acr is not among the requested values
// prompts a new login (oidc-provider itself only does that for *essential* acr claims); max_age is honoured by
// oidc-provider already. AUTO_LOGIN answers with the first requested acr, or with the one PUT /__acr?value=… forces
// (a provider that ignores acr_values); without acr_values and without a forced value the ID token has no acr.
const ACR_VALUES = ['silver', 'gold', 'platinum'];
let forcedAcr = null;
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check('acr_values', 'requested ACR could not be obtained', (ctx) => {
  const wanted = ctx.oidc.params.acr_values ? ctx.oidc.params.acr_values.split(' ') : [];
  if (!wanted.length || ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
  return wanted.includes(ctx.oidc.session.acr) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
}));

const provider = new Provider(ISSUER, {
  acrValues: ACR_VALUES,
  interactions: { policy },
  clients: [client],
  jwks,
  findAccount,
  cookies: { keys: list(env.COOKIE_KEYS || 'forwardauth-dev-cookie-key-not-a-secret') },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name', ...extraClaims], groups: ['groups', ...PROFILE_CLAIMS[CLAIM_PROFILE]] },
  // false: the scope's claims go into the ID token too. THIN_ID_TOKENS=true: only into userinfo (ID tokens carry sub),
  // as providers do whose relying parties read userinfo (claimsFromUserinfo).
  conformIdTokenClaims: env.THIN_ID_TOKENS === 'true',
  pkce: { required: () => true }, // v9 only supports S256 anyway
  ttl: TTL,
  // Default is "only with offline_access" (which oidc-provider also drops unless prompt=consent).
  // ForwardAuth wants refresh tokens without that, so any client allowed the grant gets one.
  issueRefreshToken: async (ctx, c) => c.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: () => env.ROTATE_REFRESH_TOKENS === 'true',
  // Let resource servers see who the user is from the access token alone.
  extraTokenClaims: async (ctx, token) => {
    if (!token.accountId) return undefined;
    const { email, preferred_username, groups } = userClaims(token.accountId);
    return { email, preferred_username, groups };
  },
  // Outgoing requests (backchannel logout) use an SSRF-guarded dispatcher that refuses loopback
  // and private addresses: exactly where a dev RP lives. Use the plain global fetch instead.
  fetch: (url, { dispatcher, ...options }) => fetch(url, options),
  features: {
    devInteractions: { enabled: true }, // login form (any login/password) + consent page
    revocation: { enabled: true },
    introspection: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    // REGISTRATION_TOKEN: dynamic client registration (RFC 7591) behind that initial access token.
    registration: env.REGISTRATION_TOKEN ? { enabled: true, initialAccessToken: env.REGISTRATION_TOKEN } : { enabled: false },
    resourceIndicators: RESOURCE ? {
      enabled: true,
      defaultResource: async (ctx, c, oneOf) => oneOf ?? RESOURCE, // no `resource` param needed
      useGrantedResource: async () => true, // code/refresh grants reuse the granted resource
      getResourceServerInfo: async (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new errors.InvalidTarget();
        return {
          scope: 'openid email profile groups', audience: RESOURCE, accessTokenFormat: 'jwt',
          accessTokenTTL: TTL.AccessToken, jwt: { sign: { alg: 'RS256' } },
        };
      },
    } : { enabled: false },
  },
});

// Stats for tests ("exactly one refresh reached the provider"). DELETE /__stats resets.
const freshStats = () => ({ authorization: 0, token: {}, registration: 0, userinfo: 0, revocation: 0, introspection: 0, end_session: 0, client_auth_rejected: 0, backchannel_logout: { success: 0, error: 0 } });
let stats = freshStats();
// Tests make the token endpoint slow (PUT /__token-delay?ms=3000) to show that a refresh lease is renewed.
let tokenDelayMs = 0;
// Tests void codes: the next N authorization_code exchanges are answered invalid_grant (PUT /__refuse-codes?count=N),
// after the provider has consumed the code, as a provider does that voided it.
let refuseCodes = 0;
// Tests reproduce partial consent: AUTO_LOGIN's consent grants only these scopes (PUT /__consent-scopes?scopes=openid;
// no scopes: all again) and rejects the rest.
let consentScopes = null;
provider.on('end_session.success', () => { stats.end_session += 1; });
provider.on('registration_create.success', () => { stats.registration += 1; });
// Administrator action (dev/test only): POST /__revoke-account?account=<login> revokes everything the user was given —
// every grant with its access and refresh tokens and codes, and every provider session — as an administrator
// revoking a user's access would. The user's next refresh gets invalid_grant, userinfo with their tokens a 401.
const grantsByAccount = new Map();
const sessionsByAccount = new Map();
const remember = (map, account, id) => { if (account && id) map.set(account, new Set([...(map.get(account) ?? []), id])); };
provider.on('grant.saved', (grant) => remember(grantsByAccount, grant.accountId, grant.jti));
provider.on('session.saved', (session) => remember(sessionsByAccount, session.accountId, session.jti));
async function revokeAccount(account) {
  const grants = [...(grantsByAccount.get(account) ?? [])];
  const sessions = [...(sessionsByAccount.get(account) ?? [])];
  for (const grantId of grants) {
    await Promise.all([provider.AccessToken, provider.RefreshToken, provider.AuthorizationCode].map((m) => m.revokeByGrantId(grantId)));
    await provider.Grant.adapter.destroy(grantId);
  }
  for (const id of sessions) await provider.Session.adapter.destroy(id);
  grantsByAccount.delete(account);
  sessionsByAccount.delete(account);
  return { account, grants: grants.length, sessions: sessions.length };
}
provider.on('backchannel.success', () => { stats.backchannel_logout.success += 1; });
provider.on('backchannel.error', (ctx, err) => { stats.backchannel_logout.error += 1; console.error(`backchannel.error: ${err.message}`); });
provider.use(async (ctx, next) => {
  if (ctx.path === '/__stats') {
    if (ctx.method === 'DELETE') stats = freshStats();
    ctx.body = stats;
    return;
  }
  if (ctx.path === '/__revoke-account' && ctx.method === 'POST') {
    ctx.body = await revokeAccount(ctx.query.account ?? '');
    return;
  }
  if (ctx.path === '/__token-delay') {
    if (ctx.method === 'PUT') tokenDelayMs = Math.max(0, Number.parseInt(ctx.query.ms ?? '0', 10) || 0);
    ctx.body = { ms: tokenDelayMs };
    return;
  }
  if (ctx.path === '/__refuse-codes') {
    if (ctx.method === 'PUT') refuseCodes = Math.max(0, Number.parseInt(ctx.query.count ?? '0', 10) || 0);
    ctx.body = { count: refuseCodes };
    return;
  }
  if (ctx.path === '/__acr') {
    if (ctx.method === 'PUT') forcedAcr = ctx.query.value || null;
    ctx.body = { value: forcedAcr };
    return;
  }
  if (ctx.path === '/__consent-scopes') {
    if (ctx.method === 'PUT') consentScopes = ctx.query.scopes ? list(ctx.query.scopes.replaceAll(' ', ',')) : null;
    ctx.body = { scopes: consentScopes };
    return;
  }
  // Authorization requests (a browser sent to log in): single sign-on tests show that a second domain needs none.
  if (ctx.method === 'GET' && ctx.path === '/auth') stats.authorization += 1;
  if (tokenDelayMs > 0 && ctx.method === 'POST' && ctx.path === '/token') {
    await new Promise((resolve) => { setTimeout(resolve, tokenDelayMs); });
  }
  // oidc-provider treats client_secret_basic and _post as interchangeable; enforce the registered
  // one so TOKEN_AUTH_METHOD really tests the RP. Header-only check: the body is the provider's.
  if (ctx.method === 'POST' && /^\/token(\/introspection|\/revocation)?$/.test(ctx.path)
    && /^basic /i.test(ctx.get('authorization')) !== (client.token_endpoint_auth_method === 'client_secret_basic')) {
    stats.client_auth_rejected += 1;
    ctx.status = 401;
    ctx.body = { error: 'invalid_client', error_description: `client must authenticate with ${client.token_endpoint_auth_method}` };
    return;
  }
  try { await next(); } finally {
    // Count after the provider parsed the body itself (reading it here would consume it).
    if (ctx.method === 'POST' && ctx.path === '/token') {
      const gt = ctx.oidc?.params?.grant_type ?? 'unknown';
      stats.token[gt] = (stats.token[gt] ?? 0) + 1;
      if (gt === 'authorization_code' && ctx.status === 200 && refuseCodes > 0) {
        refuseCodes -= 1;
        ctx.status = 400;
        ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid (voided by /__refuse-codes)' };
      }
    }
    if (ctx.path === '/me') stats.userinfo += 1;
    if (ctx.method === 'POST' && ctx.path === '/token/revocation') stats.revocation += 1;
    if (ctx.method === 'POST' && ctx.path === '/token/introspection') stats.introspection += 1;
  }
});

// AUTO_LOGIN: answer every interaction ourselves (login, then consent to whatever is missing)
// with a redirect, so a plain HTTP client with a cookie jar goes straight to the redirect_uri.
provider.use(async (ctx, next) => {
  if (!AUTO_LOGIN || ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
  const { prompt, params, session, grantId } = await provider.interactionDetails(ctx.req, ctx.res);
  // "hint" answers only logins that name their user; any other is left to the interactive pages (browser tests).
  if (AUTO_LOGIN === 'hint' && !params.login_hint) return next();
  let result;
  if (prompt.name === 'login') {
    const login = AUTO_LOGIN === 'hint' ? params.login_hint : AUTO_LOGIN;
    const acr = forcedAcr ?? (params.acr_values ? params.acr_values.split(' ')[0] : undefined);
    result = { login: { accountId: login, ...(acr && { acr }) } };
  } else { // consent: same as the devInteractions consent form would grant
    const grant = grantId ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) {
      const give = d.missingOIDCScope.filter((s) => !consentScopes || consentScopes.includes(s));
      const refuse = d.missingOIDCScope.filter((s) => !give.includes(s));
      if (give.length) grant.addOIDCScope(give.join(' '));
      if (refuse.length) grant.rejectOIDCScope(refuse.join(' '));
    }
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [ind, s] of Object.entries(d.missingResourceScopes ?? {})) {
      const give = s.filter((x) => !consentScopes || consentScopes.includes(x));
      const refuse = s.filter((x) => !give.includes(x));
      if (give.length) grant.addResourceScope(ind, give.join(' '));
      if (refuse.length) grant.rejectResourceScope(ind, refuse.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  }
  // interactionFinished() would write to the raw res behind koa's back; this is equivalent.
  ctx.status = 303;
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: prompt.name !== 'login' }));
});

// AUTO_LOGIN: skip the "Do you want to sign out?" page. Its confirmation must be a POST with the
// xsrf value the page carries, which HTTP clients won't send, so we submit it to ourselves and
// relay the resulting redirect (to post_logout_redirect_uri) and cookie changes.
provider.use(async (ctx, next) => {
  await next();
  if (!AUTO_LOGIN || ctx.path !== '/session/end' || typeof ctx.body !== 'string') return;
  const xsrf = ctx.body.match(/name="xsrf" value="([^"]+)"/)?.[1];
  if (!xsrf) return;
  const setCookies = [ctx.response.get('set-cookie') || []].flat();
  const cookie = [ctx.get('cookie'), ...setCookies.map((c) => c.split(';')[0])].filter(Boolean).join('; ');
  const host = ['0.0.0.0', '::'].includes(HOST) ? '127.0.0.1' : HOST;
  const self = `http://${host.includes(':') ? `[${host}]` : host}:${PORT}`;
  const res = await fetch(`${self}/session/end/confirm`, {
    method: 'POST', redirect: 'manual', headers: { cookie }, body: new URLSearchParams({ xsrf, logout: 'yes' }),
  });
  ctx.set('set-cookie', [...setCookies, ...res.headers.getSetCookie()]);
  ctx.body = null; // before status: koa turns a null body into 204
  ctx.status = res.status;
  // Our own URLs (e.g. /session/end/success) come back with our address: show the client's.
  if (res.headers.get('location')) ctx.set('location', res.headers.get('location').replace(self, `${ctx.protocol}://${ctx.host}`));
});

for (const event of ['server_error', 'grant.error', 'authorization.error', 'end_session.error', 'revocation.error', 'introspection.error', 'userinfo.error', 'registration_create.error']) {
  provider.on(event, (ctx, err) => console.error(`${event}: ${err.error ?? err.name}: ${err.error_description ?? err.message}`));
}
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
// Clients are validated lazily; do it now so a bad REDIRECT_URIS fails at startup, not mid-test.
await provider.Client.find(client.client_id).catch((err) => { console.error(`invalid client: ${err.error_description ?? err.message}`); process.exit(2); });
provider.listen(PORT, HOST, () => console.log(`oidc-provider listening on ${ISSUER}`));
