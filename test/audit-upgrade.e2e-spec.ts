import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations';
import { runMigrations } from '../src/common/database/data-source';
import { AuditSealer } from '../src/audit/audit-sealer';
import { chainHash, GENESIS_HASH } from '../src/audit/chain';
import { client } from './support/http';
import { operatorToken } from './support/factories';
import { startTestApp, TestApp } from './support/test-app';

/**
 * Migration 005 changed where entries live (written once into audit_entries, sealed by a narrow audit_seals row).
 * A database already holding a sealed chain and queued entries upgrades without losing or breaking anything.
 */
describe('audit trail upgrade from the queue-and-move layout (migration 004 → 005)', () => {
  const name = `gateway_upgrade_${randomBytes(6).toString('hex')}`;
  const adminUrl = process.env.TEST_DATABASE_ADMIN_URL!;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let t: TestApp | undefined;

  beforeAll(async () => {
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    // The schema as it was before migration 005.
    const old = new DataSource({ type: 'postgres', url: url.toString(), migrations: MIGRATIONS.slice(0, 4), migrationsTableName: 'schema_migrations' });
    await old.initialize();
    await old.runMigrations({ transaction: 'each' });
    // Five entries sealed the old way (moved into audit_log by the old audit_seal), then three left queued.
    const at = '2026-11-20T10:00:00.123Z';
    for (let i = 1; i <= 8; i++) {
      await old.query(`INSERT INTO audit_queue (occurred_at, kind, partner_id, agent, object, subject_ref, scopes_returned, outcome,
        http_status, request_id, upstream_ms) VALUES ($1, 'lookup', '6f1c9d2e-0000-4000-8000-000000000001', $2, 'dossier', 'ref',
        '{droits.ouverture}', 'ok', 200, $3, 4)`, [at, `agent-${i}`, `req-${i}`]);
    }
    let prev = GENESIS_HASH;
    const ids: string[] = [];
    const seqs: number[] = [];
    const prevs: string[] = [];
    const hashes: string[] = [];
    for (let seq = 1; seq <= 5; seq++) {
      const hash = chainHash(prev, { seq, occurred_at: at, kind: 'lookup', partner_id: '6f1c9d2e-0000-4000-8000-000000000001',
        agent: `agent-${seq}`, object: 'dossier', subject_ref: 'ref', scopes_returned: ['droits.ouverture'], outcome: 'ok',
        http_status: 200, request_id: `req-${seq}`, upstream_ms: 4 });
      ids.push(String(seq));
      seqs.push(seq);
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
    }
    await old.query('SELECT audit_seal($1::bigint[], $2::bigint[], $3::text[], $4::text[], now())', [ids, seqs, prevs, hashes]);
    await old.destroy();
    expect(await runMigrations(url.toString())).toEqual(['AuditEntriesInPlace1763900000005', 'AuditHardening1763900000006', 'Availability1763900000007',
      'OpenData1763900000008', 'OperatorSecondFactor1763900000009', 'NotificationDelivery1763900000010',
      'CredentialExpiry1763900000011', 'AccessRequestConversation1763900000012', 'Webhooks1763900000013',
      'AuditVerifications1763900000014', 'NotificationIndexes1763900000015']);
    t = await startTestApp({}, { databaseUrl: url.toString() });
  });

  afterAll(async () => {
    await t?.close();
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => admin.end());
  });

  it('keeps the sealed chain, seals the queued entries after it, and the whole chain verifies', async () => {
    const before = await t!.sql<{ seq: string; agent: string }>('SELECT seq, agent FROM audit_log ORDER BY seq');
    expect(before.map((r) => r.agent)).toEqual(['agent-1', 'agent-2', 'agent-3', 'agent-4', 'agent-5']);
    expect(await t!.sql('SELECT entry_id FROM audit_pending')).toHaveLength(3);

    await t!.app.get(AuditSealer).sealPending();
    const after = await t!.sql<{ seq: string; agent: string | null }>(`SELECT seq, agent FROM audit_log WHERE kind = 'lookup' ORDER BY seq`);
    expect(after.map((r) => r.agent)).toEqual(['agent-1', 'agent-2', 'agent-3', 'agent-4', 'agent-5', 'agent-6', 'agent-7', 'agent-8']);
    const auditor = await operatorToken(t!);
    const verified = await client(t!.url).get('/admin/api/audit/verify', { token: auditor });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.checked).toBeGreaterThanOrEqual(8);
  });
});
