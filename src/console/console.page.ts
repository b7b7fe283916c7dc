/** The operators' console: one page, no framework, talking to the operator API with the session cookie. */
export const CONSOLE_HTML = `<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API droits CNAM — console DINSIC</title>
<link rel="stylesheet" href="/console/console.css">
</head>
<body>
<header><h1>API droits CNAM — console des opérateurs</h1><span id="who"></span>
<button id="logout" hidden>Se déconnecter</button></header>
<main>
<form id="login" hidden>
  <h2>Connexion</h2>
  <label>Courriel <input name="email" type="email" autocomplete="username" required></label>
  <label>Mot de passe <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Se connecter</button>
  <p class="error" id="login-error" role="alert"></p>
</form>
<section id="work" hidden>
  <h2>Demandes d'accès en attente</h2>
  <table id="requests"><thead><tr><th>Organisation</th><th>SIRET</th><th>Finalité</th><th>Périmètre</th><th>Reçue le</th><th></th></tr></thead><tbody></tbody></table>
  <div id="secret" class="notice" hidden></div>
  <h2>Partenaires</h2>
  <table id="partners"><thead><tr><th>Partenaire</th><th>Statut</th><th>Périmètre</th><th>client_id</th><th></th></tr></thead><tbody></tbody></table>
  <p class="error" id="work-error" role="alert"></p>
</section>
</main>
<script src="/console/console.js"></script>
</body>
</html>`;

export const CONSOLE_CSS = `body{font-family:system-ui,sans-serif;margin:0;color:#161616}
header{background:#000091;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1rem;align-items:center}
header h1{font-size:1.2rem;margin:0;flex:1}main{padding:1.5rem;max-width:72rem}
table{border-collapse:collapse;width:100%;margin-bottom:2rem}th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;font-size:.9rem}
label{display:block;margin:.5rem 0}input{display:block;padding:.3rem;min-width:20rem}
button{margin:.1rem;padding:.3rem .7rem;cursor:pointer}.error{color:#ce0500}.notice{background:#e8edff;padding:1rem;margin-bottom:1rem}
code{background:#eee;padding:.1rem .3rem}`;

export const CONSOLE_JS = `'use strict';
const $ = (selector) => document.querySelector(selector);
const text = (value) => document.createTextNode(value == null ? '' : String(value));
async function call(method, path, body) {
  const response = await fetch(path, { method, headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined, credentials: 'same-origin' });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) throw Object.assign(new Error(data && data.detail || response.statusText), { status: response.status });
  return data;
}
function row(cells, actions) {
  const tr = document.createElement('tr');
  for (const cell of cells) { const td = document.createElement('td'); td.appendChild(text(cell)); tr.appendChild(td); }
  const td = document.createElement('td');
  for (const [label, handler] of actions) {
    const button = document.createElement('button'); button.type = 'button'; button.textContent = label;
    button.addEventListener('click', () => handler().catch(showError)); td.appendChild(button);
  }
  tr.appendChild(td); return tr;
}
function showError(error) { $('#work-error').textContent = error.message; }
function ask(question) { const answer = window.prompt(question); if (!answer) throw new Error('Action annulée.'); return answer; }
async function refresh() {
  $('#work-error').textContent = '';
  const [requests, partners] = await Promise.all([
    call('GET', '/admin/api/access-requests?status=pending'), call('GET', '/admin/api/partners')]);
  const requestRows = $('#requests tbody'); requestRows.replaceChildren();
  for (const r of requests) {
    requestRows.appendChild(row([r.organisation.name, r.organisation.siret, r.purpose, r.scopes.join(' '),
      new Date(r.created_at).toLocaleString('fr-FR')], [
      ['Approuver', async () => {
        const result = await call('POST', '/admin/api/access-requests/' + r.id + '/approve', { note: 'approuvé depuis la console' });
        const box = $('#secret'); box.hidden = false; box.replaceChildren(
          text('Identifiants de ' + result.partner.name + ' (le secret ne sera plus affiché) : client_id '),
          Object.assign(document.createElement('code'), { textContent: result.credentials.client_id }), text(' — client_secret '),
          Object.assign(document.createElement('code'), { textContent: result.credentials.client_secret }));
        await refresh();
      }],
      ['Rejeter', async () => { await call('POST', '/admin/api/access-requests/' + r.id + '/reject', { reason: ask('Motif du rejet ?') }); await refresh(); }],
    ]));
  }
  const partnerRows = $('#partners tbody'); partnerRows.replaceChildren();
  for (const p of partners) {
    const actions = [];
    const act = (verb, label) => actions.push([label, async () => {
      await call('POST', '/admin/api/partners/' + p.id + '/' + verb, { reason: ask('Motif ?') }); await refresh(); }]);
    if (p.status === 'active') act('suspend', 'Suspendre');
    if (p.status === 'suspended') act('reactivate', 'Réactiver');
    if (p.status === 'active' || p.status === 'suspended') act('revoke', 'Révoquer');
    partnerRows.appendChild(row([p.name, p.status, p.scopes.join(' '), p.client_id], actions));
  }
}
async function start() {
  try {
    const session = await call('GET', '/admin/api/session');
    $('#who').textContent = session.operator.email; $('#logout').hidden = false; $('#login').hidden = true; $('#work').hidden = false;
    await refresh();
  } catch (error) {
    if (error.status !== 401) return showError(error);
    $('#login').hidden = false; $('#work').hidden = true; $('#logout').hidden = true; $('#who').textContent = '';
  }
}
$('#login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try { await call('POST', '/admin/api/session', { email: form.get('email'), password: form.get('password') }); await start(); }
  catch (error) { $('#login-error').textContent = error.message; }
});
$('#logout').addEventListener('click', async () => { await call('DELETE', '/admin/api/session'); await start(); });
start();`;
