import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { AuditSealer } from '../src/audit/audit-sealer';
import { AuditService } from '../src/audit/audit.service';
import { chainHash } from '../src/audit/chain';
import { operatorToken, rejectedRequests } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';
import { tempFolder } from './support/temp-folder';

const CLI = join(__dirname, '../dist/src/cli/main.js');

/**
 * What a database superuser can do to the trail, and what catches it: the sealer (it never signs over a chain it
 * did not leave), chained checkpoints (one removed between two others), and checkpoints kept outside.
 */
describe('audit trail against a superuser (tamper tests)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let auditor: string;
  let superuser: Client;
  const folder = tempFolder('audit-tamper-');
  const seal = () => t.app.get(AuditSealer).sealPending();

  /** Operator actions, each an entry of the chain. */
  const actions = (count: number) => rejectedRequests(t.url, auditor, count);

  /** As a superuser with triggers off: changes the entry at `seq`, recomputes every hash after it, so that the chain links. */
  async function rewriteFrom(seq: number): Promise<void> {
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(`UPDATE audit_entries SET detail = '{"reason":"forged"}' WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = $1)`, [seq]);
    const { rows } = await superuser.query(`SELECT seq::int AS seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at,
        kind, partner_id, recipient, agent, context, object, operator_id, action, target, detail, subject_ref, scopes_returned, outcome,
        http_status, request_id, upstream_ms, prev_hash FROM audit_log WHERE seq >= $1 ORDER BY seq`, [seq]);
    let prev = rows[0].prev_hash;
    for (const row of rows) {
      const hash = chainHash(prev, row);
      await superuser.query('UPDATE audit_seals SET prev_hash = $2, hash = $3 WHERE seq = $1', [row.seq, prev, hash]);
      prev = hash;
    }
    await superuser.query('DELETE FROM audit_checkpoints WHERE seq >= $1', [seq]);
    await superuser.query('COMMIT');
  }

  async function exportTo(name: string): Promise<string> {
    const path = join(folder, name);
    writeFileSync(path, (await api.get('/admin/api/audit/export', { token: auditor })).text);
    return path;
  }

  function verifyOffline(file: string, ...saved: string[]) {
    const run = spawnSync(process.execPath, [CLI, 'audit:verify', file, ...saved.flatMap((path) => ['--checkpoint', path])],
      { env: { ...process.env, LOG_LEVEL: 'error' }, encoding: 'utf8' });
    return { status: run.status, result: run.stdout ? JSON.parse(run.stdout) : undefined, stderr: run.stderr };
  }

  beforeAll(async () => {
    t = await startTestApp({ AUDIT_CHECKPOINT_EVERY: '2' });
    api = client(t.url);
    auditor = await operatorToken(t);
    superuser = new Client({ connectionString: t.databaseUrl });
    await superuser.connect();
  });
  afterAll(async () => {
    await superuser?.end();
    await t?.close();
  });

  it('chains each checkpoint to the one before it, and names a checkpoint removed from between two others', async () => {
    // A checkpoint is signed at the end of a sealing batch once 2 entries or more follow the last one.
    for (let i = 0; i < 3; i++) {
      await actions(3);
      await seal();
    }
    const checkpoints = await t.sql<{ seq: string; prev_checkpoint: string }>('SELECT seq, prev_checkpoint FROM audit_checkpoints ORDER BY seq');
    expect(checkpoints.length).toBeGreaterThanOrEqual(3);
    expect(checkpoints[0].prev_checkpoint).toBe('0'.repeat(64));
    expect(new Set(checkpoints.map((c) => c.prev_checkpoint)).size).toBe(checkpoints.length);
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true });

    const middle = checkpoints[1].seq;
    const [removed] = await t.sql('SELECT * FROM audit_checkpoints WHERE seq = $1', [middle]);
    await superuser.query('BEGIN; SET LOCAL session_replication_role = replica');
    await superuser.query('DELETE FROM audit_checkpoints WHERE seq = $1', [middle]);
    await superuser.query('COMMIT');
    try {
      expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: false, first_bad_seq: Number(checkpoints[2].seq),
        problem: expect.stringMatching(/does not follow the checkpoint at seq/) });
      const file = await exportTo('missing-checkpoint.ndjson');
      expect(verifyOffline(file)).toMatchObject({ status: 1, result: { ok: false, first_bad_seq: Number(checkpoints[2].seq) } });
    } finally {
      await superuser.query(`INSERT INTO audit_checkpoints SELECT * FROM json_populate_record(NULL::audit_checkpoints, $1)`, [JSON.stringify(removed)]);
    }
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true });
  });

  it('never signs over a rewritten tail: the sealer stops, readiness and /metrics say so, and a saved checkpoint proves it', async () => {
    await actions(2);
    await seal();
    const saved = join(folder, 'saved-checkpoint.json');
    const latest = await api.get('/v1/audit/checkpoints/latest');
    writeFileSync(saved, latest.text);
    const good = await exportTo('before.ndjson');
    expect(verifyOffline(good, saved)).toMatchObject({ status: 0,
      result: { ok: true, saved_checkpoints: [{ seq: latest.body.seq, status: 'matches' }] } });

    // The forger rewrites from two entries before the published checkpoint and removes the checkpoints from there.
    const forgedFrom = latest.body.seq - 1;
    await rewriteFrom(forgedFrom);
    const [{ count: checkpointsBefore }] = await t.sql<{ count: string }>('SELECT count(*) FROM audit_checkpoints');
    // Both verifiers over the database and the export alone are satisfied: only what is held outside can tell.
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true });

    await actions(5);
    expect(await seal()).toBe(0);
    const [{ count: checkpointsAfter }] = await t.sql<{ count: string }>('SELECT count(*) FROM audit_checkpoints');
    expect(checkpointsAfter).toBe(checkpointsBefore);
    expect(await t.sql('SELECT seq FROM audit_checkpoints WHERE seq >= $1', [forgedFrom])).toEqual([]);
    const ready = await api.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'audit_chain_broken' });
    expect((await api.get('/metrics')).text).toMatch(/^gateway_audit_chain_intact 0$/m);

    const forged = await exportTo('after.ndjson');
    expect(verifyOffline(forged)).toMatchObject({ status: 0, result: { ok: true } });
    const caught = verifyOffline(forged, saved);
    expect(caught.status).toBe(1);
    expect(caught.result).toMatchObject({ ok: false, first_bad_seq: latest.body.seq,
      saved_checkpoints: [{ seq: latest.body.seq, status: 'differs' }], problem: expect.stringMatching(/rewritten/) });
  });

  it('refuses a saved checkpoint file that is not one, and one whose signature does not hold', async () => {
    const file = await exportTo('any.ndjson');
    const notJson = join(folder, 'not-a-checkpoint.json');
    writeFileSync(notJson, 'hello');
    expect(verifyOffline(file, notJson)).toMatchObject({ status: 2, stderr: expect.stringMatching(/not a JSON checkpoint/) });
    const latest = (await api.get('/v1/audit/checkpoints/latest')).body;
    const forgedCheckpoint = join(folder, 'forged-checkpoint.json');
    writeFileSync(forgedCheckpoint, JSON.stringify({ ...latest, hash: 'f'.repeat(64) }));
    expect(verifyOffline(file, forgedCheckpoint)).toMatchObject({ status: 1,
      result: { ok: false, saved_checkpoints: [{ status: 'bad_signature' }] } });
  });
});
