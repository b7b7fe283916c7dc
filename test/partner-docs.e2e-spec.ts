import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator, Simulator } from '../simulator/server';
import { PROBLEM_CODES } from '../src/common/errors/problem-codes';
import { catalogueSection, renderProblemCatalogue } from '../src/docs/problem-catalogue';
import { WebhookDelivery } from '../src/notifications/webhooks';
import { accessRequestBody, operatorToken } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';
import { tempFolder } from './support/temp-folder';

const ROOT = join(__dirname, '..');
const DOCS = readFileSync(join(ROOT, 'docs/partners.md'), 'utf8');
const FIXTURES = join(__dirname, 'fixtures');
const run = promisify(execFile);

/** The fenced blocks of a language, in the order of the document. */
const blocks = (language: string) => [...DOCS.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
const nodeBlock = (file: string) => {
  const found = blocks('js').find((block) => block.startsWith(`// ${file}`));
  if (!found) throw new Error(`docs/partners.md: no js block starting with // ${file}`);
  return found;
};

/** Every file of src except the catalogue itself, to find where each code is used. */
function sourceText(dir = join(ROOT, 'src')): string {
  return readdirSync(dir, { withFileTypes: true }).map((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceText(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && entry.name !== 'problem-codes.ts' ? readFileSync(path, 'utf8') : '';
  }).join('\n');
}

describe('docs/partners.md: the problem catalogue is the code\'s own list', () => {
  it('carries exactly the catalogue generated from src/common/errors/problem-codes.ts (npm run docs:problems rewrites it)', () => {
    expect(catalogueSection(DOCS)).toBe(renderProblemCatalogue());
  });

  it('lists no code that the gateway never answers', () => {
    const source = sourceText();
    const unused = Object.keys(PROBLEM_CODES).filter((code) => !source.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});

/**
 * The examples of docs/partners.md, run as a partner's developer would run them, against a sandbox gateway with the
 * simulator: every sh block in one shell (they follow on), each Node program, and the Python ones compiled.
 */
describe('docs/partners.md: its examples work as written', () => {
  let simulator: Simulator;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let credentials: { client_id: string; client_secret: string };
  let partnerId: string;
  const children: ChildProcess[] = [];
  const work = tempFolder('partner-docs-');
  const env = () => ({ ...process.env, BASE: t.url, CLIENT_ID: credentials.client_id, CLIENT_SECRET: credentials.client_secret });

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ SANDBOX: 'true', UPSTREAM_URL: simulator.url, WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_CA_FILE: join(FIXTURES, 'webhook-receiver.cert.pem') });
    api = client(t.url);
    const answer = await api.post('/v1/access-requests', accessRequestBody({ organisation: { name: 'CCAS de Lyon', siret: '21690123100011' },
      recipients: ['21690123100011'], scopes: ['droits.ouverture', 'droits.c2s'] }));
    expect(answer.status).toBe(201);
    credentials = answer.body.credentials;
    partnerId = answer.body.partner.id;
  });
  afterAll(async () => {
    for (const child of children) child.kill();
    await t?.close();
    await simulator?.close();
  });

  it('runs the sh blocks in order: first lookup, refusals, X-Request-Id, /v1/me', async () => {
    const shell = blocks('sh');
    expect(shell.length).toBeGreaterThanOrEqual(4);
    const script = shell.map((block, i) => `printf '\\n=== bloc ${i} ===\\n'\n${block}`).join('\n');
    const { stdout, stderr } = await run('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, BASE: t.url }, timeout: 60_000 });
    expect(stderr).toBe('');
    const outputs = stdout.split(/\n=== bloc \d+ ===\n/).slice(1);
    const first = JSON.parse(outputs[0]);
    expect(first).toMatchObject({ droits: { ouverture: { ouverts: true }, c2s: { est_beneficiaire: true, avec_participation: false } } });
    expect(Object.keys(first.droits).sort()).toEqual(['c2s', 'ouverture']);
    // The documented response example has the live answer's shape.
    const documented = JSON.parse(blocks('json')[0].replace(/"6f1c…"/, '"x"'));
    expect(Object.keys(documented.droits.c2s).sort()).toEqual(Object.keys(first.droits.c2s).sort());
    expect(Object.keys(documented).sort()).toEqual(Object.keys(first).sort());
    const [invalid, unknown] = outputs[1].trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(invalid).toMatchObject({ status: 400, code: 'invalid_request', errors: [{ field: 'nir' }] });
    expect(unknown).toMatchObject({ status: 404, code: 'person_not_found' });
    expect(outputs[2].trim().toLowerCase()).toBe('x-request-id: sif-lyon-2026-000042');
    expect(JSON.parse(outputs[3])).toMatchObject({ name: 'CCAS de Lyon', status: 'active', scopes: ['droits.ouverture', 'droits.c2s'] });
  });

  it('runs the Node example: open rights, then "unavailable, retry" when the backend fails, never "no rights"', async () => {
    const file = join(work, 'premier-appel.mjs');
    writeFileSync(file, nodeBlock('premier-appel.mjs'));
    expect((await run('node', [file], { env: env(), timeout: 30_000 })).stdout).toBe('droits ouverts : true\n');
    await fetch(`${simulator.url}/__admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    try {
      const { stdout } = await run('node', [file], { env: env(), timeout: 30_000 });
      expect(stdout).toMatch(/^indisponible \(upstream_error\), réessayer dans \d+ s ; request_id [0-9a-f-]{36}\n$/);
    } finally {
      await fetch(`${simulator.url}/__admin/faults/reset`, { method: 'POST' });
    }
  });

  it('runs the webhook receiver example: it verifies a real delivery and refuses a forged one', async () => {
    const operator = await operatorToken(t);
    const file = join(work, 'recepteur-webhook.mjs');
    writeFileSync(file, nodeBlock('recepteur-webhook.mjs'));
    // The secret is only known once the URL is registered, and the URL once the receiver listens: register, start, re-register.
    const receiverEnv = (secret: string, port: number) => ({ ...process.env, WEBHOOK_SECRET: secret, PORT: String(port),
      TLS_KEY: join(FIXTURES, 'webhook-receiver.key.pem'), TLS_CERT: join(FIXTURES, 'webhook-receiver.cert.pem') });
    const start = (secret: string, port: number) => new Promise<{ child: ChildProcess; port: number; output: () => string }>((resolve, reject) => {
      const child = spawn('node', [file], { env: receiverEnv(secret, port) });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /à l'écoute sur (\d+)/.exec(output);
        if (listening) resolve({ child, port: Number(listening[1]), output: () => output });
      });
      child.on('exit', (code) => reject(new Error(`receiver exited (${code}): ${output}`)));
    });
    const probe = await start('whsec_unused', 0);
    const port = probe.port;
    probe.child.kill();
    await new Promise((resolve) => probe.child.once('exit', resolve));
    const registered = await api.send('PUT', `/admin/api/partners/${partnerId}/webhook`, { body: { url: `https://localhost:${port}/webhooks` }, token: operator });
    expect(registered.status).toBe(200);
    const receiver = await start(registered.body.secret, port);

    expect((await api.post(`/admin/api/partners/${partnerId}/suspend`, { reason: 'Contrôle annuel' }, { token: operator })).status).toBe(200);
    expect(await t.app.get(WebhookDelivery).deliverDue()).toBe(1);
    const [event] = await t.sql<{ id: string }>(`SELECT id FROM webhook_events WHERE type = 'partner.suspended' AND status = 'delivered'`);
    for (let i = 0; i < 50 && !receiver.output().includes(event.id); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.output()).toContain(`reçu partner.suspended ${event.id}`);

    const forged = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify({ id: 'x', type: 'partner.revoked' });
      const req = request({ host: '127.0.0.1', port, path: '/webhooks', method: 'POST', ca: readFileSync(join(FIXTURES, 'webhook-receiver.cert.pem')),
        servername: 'localhost', headers: { 'x-timestamp': String(Math.floor(Date.now() / 1000)), 'x-signature-256': `sha256=${'0'.repeat(64)}` } },
      (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', reject);
      req.end(body);
    });
    expect(forged).toBe(401);
    for (let i = 0; i < 50 && !receiver.output().includes('signature refusée'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.output()).toContain('signature refusée');
  });

  it('has Python examples that compile', async () => {
    const python = blocks('python');
    expect(python.length).toBeGreaterThanOrEqual(2);
    if (!existsSync('/usr/bin/python3') && !process.env.PATH?.split(':').some((dir) => existsSync(join(dir, 'python3')))) return;
    for (const [i, block] of python.entries()) {
      const file = join(work, `exemple_${i}.py`);
      writeFileSync(file, block);
      await run('python3', ['-m', 'py_compile', file]);
    }
  });
});
