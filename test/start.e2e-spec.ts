import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../src/common/database/embedded-postgres';
import { client } from './support/http';

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
  const dataDir = mkdtempSync(join(tmpdir(), 'gateway-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts, prints how to log in, and keeps its data across restarts', async () => {
    const port = String(await freePort());
    const env = { DATA_DIR: dataDir, PORT: port, LOG_LEVEL: 'warn' };
    const first = await start(env);
    let password: string;
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
      const submitted = await api.post('/v1/access-requests', (await import('./support/factories')).accessRequestBody());
      expect(submitted.status).toBe(201);
    } finally {
      expect(await stop(first)).toBe(0);
    }

    const second = await start(env);
    try {
      expect(second.output()).not.toMatch(/shown once/);
      const api = client(`http://127.0.0.1:${port}`);
      const login = await api.post('/admin/api/session', { email: 'admin@dinsic.localhost', password: password! });
      expect(login.status).toBe(200);
      const requests = await api.get('/admin/api/access-requests', { token: login.body.token });
      expect(requests.body).toHaveLength(1);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  }, 120_000);

  it('refuses to start with a bad variable, naming it', () => {
    const result = spawnSync('node', [MAIN], { env: { PATH: process.env.PATH!, PORT: 'eighty', DATA_DIR: dataDir }, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/PORT/);
  });
});
