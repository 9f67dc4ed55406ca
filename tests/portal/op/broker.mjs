// A real OpenID Provider (npm oidc-provider) on 127.0.0.1, standing in for an eHerkenning
// broker in the portal's tests: authorization code with PKCE, eHerkenning's claims in the ID
// token, the assurance level as `acr`, RP-initiated logout. Its login page lists the accounts
// of the configuration file; choosing one logs in as that person (no password: a test broker).
//
//   node broker.mjs <config.json>
//
// config.json: { "port", "issuer", "cert", "key", "client": { "client_id", "redirect_uris",
//   "post_logout_redirect_uris" }, "accounts": { "<id>": { "label", "acr", "claims": {...} } } }
import fs from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const claimNames = [...new Set(Object.values(config.accounts).flatMap((a) => Object.keys(a.claims)))];
const acrValues = [...new Set(Object.values(config.accounts).map((a) => a.acr))];

const provider = new Provider(config.issuer, {
  clients: [{ ...config.client, token_endpoint_auth_method: 'none', response_types: ['code'],
    grant_types: ['authorization_code'] }],
  claims: { openid: ['sub', ...claimNames] },
  conformIdTokenClaims: false, // the broker's claims travel in the ID token, as eHerkenning's do
  acrValues,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: {
    enabled: true,
    logoutSource: async (ctx, form) => {
      ctx.body = page('Uitloggen bij de testmakelaar', `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Uitloggen</button>`);
    },
    postLogoutSuccessSource: async (ctx) => { ctx.body = page('Uitgelogd', '<p>Uitgelogd bij de testmakelaar.</p>'); },
  } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => {
    const account = config.accounts[id];
    return account && { accountId: id, claims: async () => ({ sub: id, ...account.claims }) };
  },
  cookies: { keys: ['skp-test-broker-cookie-key'] },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600 },
});

function page(title, body) {
  return `<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function body(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

async function interaction(req, res, uid, post) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (!post) {
      const options = Object.entries(config.accounts)
        .map(([id, a]) => `<option value="${escape(id)}">${escape(a.label)}</option>`).join('');
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.end(page('Inloggen bij de testmakelaar', `<form method="post"><label for="account">Account</label><select id="account" name="account">${options}</select><button type="submit">Inloggen</button></form>`));
      return;
    }
    const id = (await body(req)).get('account');
    const account = config.accounts[id];
    if (!account) { res.statusCode = 400; res.end('unknown account'); return; }
    await provider.interactionFinished(req, res, { login: { accountId: id, acr: account.acr } },
      { mergeWithLastSubmission: false });
    return;
  }
  // consent: the broker has the person's authorisation for this service; grant it at once
  const grant = details.grantId ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const server = https.createServer({ cert: fs.readFileSync(config.cert), key: fs.readFileSync(config.key) },
  (req, res) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(req.url.split('?')[0]);
    if (match) {
      interaction(req, res, match[1], req.method === 'POST').catch((err) => {
        res.statusCode = 500; res.end(`interaction failed: ${err.message}`);
      });
      return;
    }
    callback(req, res);
  });
server.listen(config.port, '127.0.0.1', () => { console.log(`broker listening ${config.issuer}`); });
process.on('SIGTERM', () => server.close(() => process.exit(0)));
