import { Client } from 'pg';
import { APPLICATION_NAME } from '../src/common/database/connection-names';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { operatorToken } from './support/factories';
import { client } from './support/http';
import { OPERATOR, startTestApp, TestApp } from './support/test-app';

describe('operators: sessions and roles (DESIGN §4)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.url);
  });
  afterAll(() => t.close());

  it('creates the bootstrap operator once, with every role, its password hashed', async () => {
    const rows = await t.sql<{ email: string; roles: string[]; password_hash: string }>('SELECT email, roles, password_hash FROM operators');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email: OPERATOR.email, roles: ['operator', 'auditor', 'admin'] });
    expect(rows[0].password_hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(rows[0].password_hash).not.toContain(OPERATOR.password);
  });

  it('logs in with a bearer token and an httpOnly, SameSite=Strict cookie', async () => {
    const answer = await api.post('/admin/api/session', OPERATOR);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token: expect.any(String), operator: { email: OPERATOR.email } });
    expect(answer.body.operator.password_hash).toBeUndefined();
    const cookie = answer.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const viaCookie = await api.get('/admin/api/session', { headers: { cookie: cookie.split(';')[0] } });
    expect(viaCookie.status).toBe(200);
  });

  it('gives the same 401 for an unknown email and a wrong password', async () => {
    const wrong = await api.post('/admin/api/session', { email: OPERATOR.email, password: 'wrong password!' });
    const unknown = await api.post('/admin/api/session', { email: 'nobody@dinsic.test', password: 'wrong password!' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect({ ...wrong.body, request_id: 0 }).toEqual({ ...unknown.body, request_id: 0 });
    expect(wrong.body.code).toBe('invalid_credentials');
  });

  it('ends a session at logout', async () => {
    const token = await operatorToken(t);
    expect((await api.delete('/admin/api/session', { token })).status).toBe(204);
    const after = await api.get('/admin/api/partners', { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('invalid_session');
  });

  it('expires sessions', async () => {
    const token = await operatorToken(t);
    t.clock.advance(t.config.operatorSessionHours * 3600_000 + 1000);
    try {
      expect((await api.get('/admin/api/partners', { token })).status).toBe(401);
    } finally {
      t.clock.advance(-(t.config.operatorSessionHours * 3600_000 + 1000));
    }
  });

  it('lets an admin create operators, and enforces each role', async () => {
    const admin = await operatorToken(t);
    const auditor = { email: 'auditrice@dinsic.test', password: 'a long enough password', roles: ['auditor'] };
    const created = await api.post('/admin/api/operators', auditor, { token: admin });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: auditor.email, roles: ['auditor'] });
    const duplicate = await api.post('/admin/api/operators', auditor, { token: admin });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.code).toBe('operator_exists');
    const badRole = await api.post('/admin/api/operators', { ...auditor, email: 'x@dinsic.test', roles: ['root'] }, { token: admin });
    expect(badRole.status).toBe(400);
    expect(badRole.body.errors[0].field).toBe('roles');

    const auditorToken = await operatorToken(t, { email: auditor.email, password: auditor.password });
    const refused = await api.get('/admin/api/partners', { token: auditorToken });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('role_required');
    expect((await api.post('/admin/api/operators', { ...auditor, email: 'y@dinsic.test' }, { token: auditorToken })).status).toBe(403);
  });

  it('slows down password guessing on one account', async () => {
    const email = 'target@dinsic.test';
    const statuses = [];
    for (let i = 0; i < 12; i++) statuses.push((await api.post('/admin/api/session', { email, password: `guess ${i}` })).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });

  it('adds operators from the command line (npm run cli -- operator:create)', async () => {
    const output = execFileSync('node', [join(__dirname, '../dist/src/cli/main.js'), 'operator:create',
      '--email', 'cli@dinsic.test', '--password', 'from the command line', '--roles', 'operator,auditor'],
    { env: { ...process.env, DATABASE_URL: t.databaseUrl, SECRET_KEY: t.config.secretKey!.toString('hex'), LOG_LEVEL: 'error' }, encoding: 'utf8' });
    expect(output).toMatch(/cli@dinsic\.test/);
    expect(output).not.toMatch(/from the command line/);
    const login = await api.post('/admin/api/session', { email: 'cli@dinsic.test', password: 'from the command line' });
    expect(login.status).toBe(200);
    expect(login.body.operator.roles).toEqual(['operator', 'auditor']);
  });

  it('refuses a bad CLI invocation with a message and exit code 2', () => {
    try {
      execFileSync('node', [join(__dirname, '../dist/src/cli/main.js'), 'operator:create', '--email', 'x'],
        { env: { ...process.env, DATABASE_URL: t.databaseUrl }, encoding: 'utf8', stdio: 'pipe' });
      fail('expected a failure');
    } catch (error) {
      const failure = error as { status: number; stderr: string };
      expect(failure.status).toBe(2);
      expect(failure.stderr).toMatch(/--password/);
    }
  });

  it('keeps working when the database is reachable again after a connection is killed', async () => {
    const admin = new Client({ connectionString: t.databaseUrl });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, [APPLICATION_NAME]);
    await admin.end();
    const token = await operatorToken(t).catch(() => operatorToken(t));
    expect((await api.get('/admin/api/partners', { token })).status).toBe(200);
  });
});
