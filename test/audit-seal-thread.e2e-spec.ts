import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';
import { AuditQueue, NewAuditEntry } from '../src/audit/audit-queue';
import { AuditSealer } from '../src/audit/audit-sealer';
import { AuditService } from '../src/audit/audit.service';
import { chainHash, GENESIS_HASH } from '../src/audit/chain';
import { CheckpointKeys } from '../src/audit/checkpoint-keys';
import { readAndChain } from '../src/audit/seal-batch';
import { SealThread } from '../src/audit/seal-thread';
import { SEALER_APPLICATION_NAME as SEALER_CONNECTION } from '../src/common/database/connection-names';
import { Database } from '../src/common/database/database';
import { Metrics } from '../src/common/metrics';
import { lockTables } from './support/database';
import { startTestApp, TestApp } from './support/test-app';

// The compiled worker (npm test builds before running jest): the TypeScript sources have none, and the other suites'
// sealers do their work in the test's thread.
const WORKER = join(__dirname, '../dist/src/audit/seal-worker.js');
const PARTNER = '0b8f1c44-5555-4555-8555-000000000005';

/**
 * The sealer with its per-entry work in a worker thread, as the gateway runs it: the same chain as the sealer
 * working in its own thread, checked by each against the other, and what becomes of a run when the worker or its
 * connection goes away.
 */
describe('the sealer\'s worker thread', () => {
  let t: TestApp;
  let thread: SealThread;
  let threaded: AuditSealer;
  let superuser: Client;
  const inline = () => t.app.get(AuditSealer);
  const queue = () => t.app.get(AuditQueue);
  const verify = () => t.app.get(AuditService).verify();

  function entries(count: number, label: string): NewAuditEntry[] {
    return Array.from({ length: count }, (_, i) => ({ occurred_at: new Date(), kind: 'lookup' as const, partner_id: PARTNER,
      agent: i % 7 === 0 ? `agent "${label}", {${i}}\\é😀` : `agent-${i % 13}`, context: 'RSA', object: `${label} ${i}`,
      subject_ref: `ref-${i % 100}`, scopes_returned: i % 5 === 0 ? [] : ['droits.ouverture'], outcome: 'ok', http_status: 200,
      detail: i % 11 === 0 ? { z: 1, a: [label, null] } : null, upstream_ms: i % 40 }));
  }

  const sealerConnections = async () =>
    (await t.sql('SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()', [SEALER_CONNECTION])).length;

  beforeAll(async () => {
    expect(existsSync(WORKER)).toBe(true);
    t = await startTestApp({ AUDIT_CHECKPOINT_EVERY: '1000' });
    const keys = t.app.get(CheckpointKeys);
    thread = new SealThread(keys, t.appDatabaseUrl, WORKER);
    threaded = new AuditSealer(t.app.get(Database), keys, t.clock, t.config, new Metrics(), thread);
    superuser = new Client({ connectionString: t.databaseUrl });
    await superuser.connect();
  });

  afterAll(async () => {
    await thread.stop();
    await superuser.end();
    await t.close();
  });

  it('seals in its worker thread, on its own connection, a chain that verifies, with checkpoints the worker signed', async () => {
    expect(thread.threaded).toBe(true);
    await queue().insert(entries(4500, 'one'));
    expect(await threaded.sealPending()).toBe(4500);
    expect(await sealerConnections()).toBe(1);
    // A checkpoint after each batch that took the chain 1,000 entries or more past the last one.
    expect(await verify()).toMatchObject({ ok: true, checked: 4500, checkpoints_checked: 2 });
    const checkpoints = await t.sql<{ seq: string; key_id: string }>('SELECT seq, key_id FROM audit_checkpoints ORDER BY seq');
    expect(checkpoints.map((c) => Number(c.seq))).toEqual([2000, 4000]);
    expect(new Set(checkpoints.map((c) => c.key_id))).toEqual(new Set([t.app.get(CheckpointKeys).currentKeyId()]));
    // The same hashes as the specification computes them, entry by entry.
    const rows = await t.sql<Record<string, unknown>>(`SELECT seq::int AS seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
        kind, partner_id, recipient, agent, context, object, operator_id, action, target, detail, subject_ref, scopes_returned, outcome,
        http_status, request_id, upstream_ms, prev_hash, hash FROM audit_log ORDER BY seq LIMIT 50`);
    for (const row of rows) expect(chainHash(row.prev_hash as string, row as never)).toBe(row.hash);
  });

  it('takes turns with a sealer working in its own thread: each checks what the other sealed, one gapless chain', async () => {
    await queue().insert(entries(1500, 'two'));
    expect(await inline().sealPending()).toBe(1500);
    await queue().insert(entries(2500, 'three'));
    // The worker recomputes the 1,500 entries the other sealed before it seals onto them.
    expect(await threaded.sealPending()).toBe(2500);
    expect(threaded.chainBroken()).toBeUndefined();
    await queue().insert(entries(300, 'four'));
    const [first, second] = await Promise.all([threaded.sealPending(), inline().sealPending()]);
    expect(first + second).toBe(300);
    expect(await verify()).toMatchObject({ ok: true, checked: 8800 });
  });

  it('refuses to seal onto a chain rewritten behind its back (found by the worker\'s verification)', async () => {
    await queue().insert(entries(10, 'five'));
    expect(await inline().sealPending()).toBe(10);
    const [{ seq }] = await t.sql<{ seq: string }>('SELECT max(seq) - 3 AS seq FROM audit_seals');
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(`UPDATE audit_entries SET object = 'forged' WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = $1)`, [seq]);
    await superuser.query('COMMIT');
    await queue().insert(entries(5, 'six'));
    expect(await threaded.sealPending()).toBe(0);
    expect(threaded.chainBroken()).toMatchObject({ problem: 'hash does not match the entry', seq: Number(seq) });
    // Put back as it was: the chain verifies again and sealing resumes.
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(`UPDATE audit_entries SET object = 'five 6' WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = $1)`, [seq]);
    await superuser.query('COMMIT');
    expect(await threaded.sealPending()).toBe(5);
    expect(threaded.chainBroken()).toBeUndefined();
  });

  it('gets over its connection being cut between runs and its thread dying: nothing is lost, the chain verifies', async () => {
    await queue().insert(entries(3000, 'seven'));
    await superuser.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()',
      [SEALER_CONNECTION]);
    // The cut is seen by the run that next uses the connection, or before it: within two runs all is sealed.
    const sealed = await threaded.sealPending().catch(() => 0);
    expect(sealed + await threaded.sealPending()).toBe(3000);

    await queue().insert(entries(2500, 'eight'));
    const worker = (thread as unknown as { worker?: Worker }).worker;
    expect(worker).toBeDefined();
    const running = threaded.sealPending();
    await worker!.terminate();
    // The run in progress fails (what it had not committed stays pending), or had finished; the next one starts a
    // new worker.
    const first = await running.catch(() => 0);
    expect(first + await threaded.sealPending()).toBe(2500);
    expect((thread as unknown as { worker?: Worker }).worker).not.toBe(worker);
    expect(await t.sql('SELECT * FROM audit_pending')).toEqual([]);
    expect(await verify()).toMatchObject({ ok: true, checked: 14315 });
  });

  it('stops within a bounded wait even when its connection hangs behind a lock, and the run in progress fails rather than hangs', async () => {
    await queue().insert(entries(10, 'ten'));
    const pending = await lockTables(t.databaseUrl, 'audit_pending');
    try {
      const running = threaded.sealPending();
      running.catch(() => undefined);
      // The worker's read of the pending entries now waits for the lock.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = Date.now();
      await thread.stop();
      expect(Date.now() - started).toBeLessThan(5000);
      // Whichever comes first fails it: the thread stopped, or its read cut off as the thread closed its connection.
      await expect(running).rejects.toThrow(/stopped|Connection terminated/);
    } finally {
      await pending.release();
    }
    expect(await threaded.sealPending()).toBe(10);
  });

  it('stops with the sealer: its worker ends and closes its connection', async () => {
    await thread.stop();
    // (A backend left by the previous test's cut connection goes once it notices: waited for, briefly.)
    for (let i = 0; i < 50 && (await sealerConnections()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await sealerConnections()).toBe(0);
    // And starts again when needed.
    await queue().insert(entries(20, 'nine'));
    expect(await threaded.sealPending()).toBe(20);
    expect(await sealerConnections()).toBe(1);
  });

  it('plans its read of each batch for the trail as it is then, never with a plan cached while the trail was small', async () => {
    // A prepared statement's plan, cached from the sealer's first runs on a near-empty trail, scanned the whole
    // entries table for each batch once it had grown (5 s a batch at 300,000 entries): the read is never prepared.
    const session = await t.app.get(Database).session();
    try {
      await queue().insert(entries(3, 'plan'));
      for (let i = 0; i < 8; i++) expect((await readAndChain(session, '0', { seq: 0, hash: GENESIS_HASH })).count).toBeGreaterThan(0);
      const prepared = await session.query(`SELECT name FROM pg_prepared_statements WHERE statement LIKE '%audit_pending%'`);
      expect(prepared.rows).toEqual([]);
    } finally {
      session.release();
    }
  });
});
