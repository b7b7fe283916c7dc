import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../src/common/database/embedded-postgres';
import { client } from './support/http';
import { tempFolder } from './support/temp-folder';

const MAIN = join(__dirname, '../dist/src/main.js');

interface Running {
  process: ChildProcess;
  output: () => string;
}

function start(env: Record<string, string>): Promise<Running> {
  const child = spawn('node', [MAIN], { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${output}`)), 60_000);
    child.stdout!.on('data', () => {
      if (/Gateway ready on/.test(output)) {
        clearTimeout(timer);
        resolve({ process: child, output: () => output });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}

function stop(running: Running): Promise<number | null> {
  return new Promise((resolve) => {
    running.process.removeAllListeners('exit');
    running.process.on('exit', (code) => resolve(code));
    running.process.kill('SIGTERM');
  });
}

describe('npm start on a fresh machine (embedded PostgreSQL, bundled simulator)', () => {
  const dataDir = tempFolder('gateway-start-');

  it('starts, prints how to log in, and keeps its data across restarts', async () => {
    const port = String(await freePort());
    const env = { DATA_DIR: dataDir, PORT: port, LOG_LEVEL: 'info' };
    const first = await start(env);
    let password: string;
    let credentials: { clientId: string; secret: string };
    try {
      const output = first.output();
      expect(output).toContain(`Gateway ready on http://127.0.0.1:${port}`);
      expect(output).toMatch(/Console: http:\/\/127\.0\.0\.1:\d+\/console/);
      expect(output).toMatch(/Upstream simulator started on http:\/\/127\.0\.0\.1:\d+/);
      const email = /Bootstrap operator: (\S+)/.exec(output)![1];
      password = /password \(shown once\): (\S+)/.exec(output)![1];
      const api = client(`http://127.0.0.1:${port}`);
      const login = await api.post('/admin/api/session', { email, password });
      expect(login.status).toBe(200);
      const { accessRequestBody, basic, SIRET_CCAS_LYON } = await import('./support/factories');
      const submitted = await api.post('/v1/access-requests', accessRequestBody());
      expect(submitted.status).toBe(201);
      // The bundled simulator answers a whole lookup, and the logs keep no personal data.
      const approved = await api.post(`/admin/api/access-requests/${submitted.body.id}/approve`, {}, { token: login.body.token });
      const { client_id: clientId, client_secret: secret } = approved.body.credentials;
      credentials = { clientId, secret };
      const issued = await api.send('POST', '/oauth/token', { raw: 'grant_type=client_credentials',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, secret) } });
      const found = await api.post('/v1/droits/recherche', { nir: '284057505612387', recipient: SIRET_CCAS_LYON,
        object: 'dossier 7', agent: 'agent-7' }, { token: issued.body.access_token });
      expect(found.status).toBe(200);
      expect(found.body.droits.ouverture.ouverts).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      expect(await stop(first)).toBe(0);
    }
    const log = first.output();
    expect(log).toMatch(/"route":"\/v1\/droits\/recherche","status":200,"outcome":"ok"/);
    expect(log).not.toContain('284057505612387');
    expect(log).not.toMatch(/DUPONT|secret/i);

    const second = await start(env);
    try {
      expect(second.output()).not.toMatch(/shown once/);
      const api = client(`http://127.0.0.1:${port}`);
      const login = await api.post('/admin/api/session', { email: 'admin@dinsic.localhost', password: password! });
      expect(login.status).toBe(200);
      const requests = await api.get('/admin/api/access-requests', { token: login.body.token });
      expect(requests.body).toHaveLength(1);
    } catch (error) {
      await stop(second);
      throw error;
    }
    // Stopped under load: the gateway closes before its embedded database stops (a database stopped first would
    // cut the connections of the lookups and of the sealer under them, and the process would crash).
    const { basic, SIRET_CCAS_LYON } = await import('./support/factories');
    const api = client(`http://127.0.0.1:${port}`);
    const issued = await api.send('POST', '/oauth/token', { raw: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(credentials!.clientId, credentials!.secret) } });
    let stopping = false;
    let answered = 0;
    const lookups = Array.from({ length: 8 }, async () => {
      while (!stopping) {
        const found = await api.post('/v1/droits/recherche', { nir: '284057505612387', recipient: SIRET_CCAS_LYON,
          object: 'dossier 8', agent: 'agent-8' }, { token: issued.body.access_token }).catch(() => undefined);
        if (found?.status === 200) answered++;
      }
    });
    for (const deadline = Date.now() + 20_000; answered < 50 && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(answered).toBeGreaterThanOrEqual(50);
    const code = await stop(second);
    stopping = true;
    await Promise.all(lookups);
    expect(second.output()).toContain('SIGTERM received, stopping');
    expect(code).toBe(0);
  }, 120_000);

  it('refuses to start with a bad variable, naming it', () => {
    const result = spawnSync('node', [MAIN], { env: { PATH: process.env.PATH!, PORT: 'eighty', DATA_DIR: dataDir }, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PORT/);
  });
});
