import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { startSimulator, Simulator } from '../simulator/server';
import { checkpointSignatureValid, exportLineHashed } from '../src/audit/chain';
import { verifyExportFile } from '../src/audit/verify-file';
import { AuditQueue } from '../src/audit/audit-queue';
import { AuditSealer } from '../src/audit/audit-sealer';
import { CheckpointKeys } from '../src/audit/checkpoint-keys';
import { int4Array, int8Array, jsonbArray, textArray, timestamptzArray, uuidArray } from '../src/common/database/binary-array';
import { Database } from '../src/common/database/database';
import { Metrics } from '../src/common/metrics';
import { AuditService } from '../src/audit/audit.service';
import { TRAIL_READ_LOCK } from '../migrations/014-audit-verifications';
import { accessRequestBody, onboardPartner, OnboardedPartner, operatorToken, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { eventually, sleep } from './faults/harness';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';
import { tempFolder } from './support/temp-folder';
import { lockTables } from './support/database';
import { metricValue } from './support/metrics';

const CLI = join(__dirname, '../dist/src/cli/main.js');
const DUPONT = { nom_naissance: 'DUPONT', prenoms: ['Marie'], date_naissance: '1984-05-12', sexe: 'F' };

describe('audit trail (DESIGN §5)', () => {
  let simulator: Simulator;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let partner: OnboardedPartner;
  let token: string;
  let auditor: string;

  const lookup = (body: Record<string, unknown>, bearer = token) =>
    api.post('/v1/droits/recherche', { recipient: SIRET_CCAS_LYON, object: 'dossier 2026-77', agent: 'agent-audit', context: 'RSA', ...body },
      { token: bearer });
  const seal = () => t.app.get(AuditSealer).sealPending();

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url, AUDIT_CHECKPOINT_EVERY: '5', TOKEN_RATE_LIMIT_PER_MINUTE: '1000' });
    api = client(t.url);
    partner = await onboardPartner(t, { scopes: ['droits.ouverture', 'droits.c2s'] }, { rateLimitPerSecond: 1000 });
    token = await partnerToken(t, partner);
    auditor = await operatorToken(t);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('traces every lookup whatever its outcome, with who, which case, what and the pseudonymised person', async () => {
    await lookup({ nir: '284057505612387' });
    await lookup({ nir: '299011305520042' });
    await lookup({ nir: '284057505612388' });
    await lookup({ nir: '284057505612387', recipient: '73282932000074' });
    simulator.setFaults({ errorRate: 1 });
    await lookup({ nir: '284057505612387' });
    simulator.setFaults({ errorRate: 0 });
    await lookup({ identite: DUPONT });
    expect(await seal()).toBeGreaterThanOrEqual(6);
    const found = await api.get(`/admin/api/audit?partner=${partner.partnerId}&kind=lookup`, { token: auditor });
    expect(found.status).toBe(200);
    const entries = found.body.entries.slice(0, 6).reverse();
    expect(entries.map((e: { outcome: string; http_status: number }) => `${e.outcome}:${e.http_status}`)).toEqual([
      'ok:200', 'person_not_found:404', 'invalid:400', 'denied:403', 'upstream_error:502', 'ok:200']);
    expect(entries[0]).toMatchObject({ kind: 'lookup', partner_id: partner.partnerId, recipient: SIRET_CCAS_LYON, agent: 'agent-audit',
      context: 'RSA', object: 'dossier 2026-77', scopes_returned: ['droits.ouverture', 'droits.c2s'], request_id: expect.any(String),
      upstream_ms: expect.any(Number), seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // One person, one reference, by NIR or by identity; never the NIR itself.
    expect(entries[5].subject_ref).toBe(entries[0].subject_ref);
    expect(entries[0].subject_ref).toMatch(/^[0-9a-f]{64}$/);
    const everything = JSON.stringify(await t.sql('SELECT * FROM audit_entries')) + JSON.stringify(await t.sql('SELECT * FROM audit_seals'));
    expect(everything).not.toContain('284057505612387');
    expect(everything).not.toContain('DUPONT');
  });

  it('lists an entry as soon as it is committed, before it is sealed, then with its chain fields', async () => {
    const answer = await lookup({ nir: '284057505612387', agent: 'agent-visible' });
    expect(answer.status).toBe(200);
    const unsealed = { request_id: answer.body.request_id, outcome: 'ok', sealed: false, seq: null, prev_hash: null, hash: null };
    expect((await api.get('/v1/me/accesses?agent=agent-visible', { token })).body.entries).toEqual([expect.objectContaining(unsealed)]);
    const byAuditor = await api.get(`/admin/api/audit?partner=${partner.partnerId}&agent=agent-visible`, { token: auditor });
    expect(byAuditor.body.entries).toEqual([expect.objectContaining(unsealed)]);
    await seal();
    expect((await api.get('/v1/me/accesses?agent=agent-visible', { token })).body.entries).toEqual([expect.objectContaining({
      request_id: answer.body.request_id, sealed: true, seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
  });

  it('keeps every traceability field of a refused lookup that was itself valid, so that no attempt is anonymous', async () => {
    const badKey = await lookup({ nir: '284057505612388', agent: 'agent-refused', object: 'dossier 2026-99', context: 'APA' });
    const badRecipient = await lookup({ nir: '284057505612387', recipient: '123', agent: 'agent-refused', object: 'x'.repeat(101) });
    const good = await lookup({ nir: '284057505612387', agent: 'agent-refused' });
    expect([badKey.status, badRecipient.status, good.status]).toEqual([400, 400, 200]);
    const listed = (await api.get('/v1/me/accesses?agent=agent-refused', { token })).body.entries;
    const byRequest = (id: string) => listed.find((e: { request_id: string }) => e.request_id === id);
    expect(byRequest(badKey.body.request_id)).toMatchObject({ outcome: 'invalid', http_status: 400, agent: 'agent-refused',
      object: 'dossier 2026-99', context: 'APA', recipient: SIRET_CCAS_LYON, subject_ref: null });
    // The NIR was valid: the person is referenced, as by the lookup that succeeded.
    expect(byRequest(badRecipient.body.request_id)).toMatchObject({ outcome: 'invalid', agent: 'agent-refused', object: null,
      context: 'RSA', recipient: null, subject_ref: byRequest(good.body.request_id).subject_ref });
  });

  it('lets auditors search by NIR, pseudonymised before the query', async () => {
    const byNir = await api.get('/admin/api/audit?subject_nir=2%2084%2005%2075%20056%20123%2087', { token: auditor });
    expect(byNir.status).toBe(200);
    expect(byNir.body.entries.length).toBeGreaterThanOrEqual(3);
    expect(byNir.body.entries.every((e: { subject_ref: string }) => e.subject_ref === byNir.body.entries[0].subject_ref)).toBe(true);
    expect((await api.get('/admin/api/audit?subject_nir=123', { token: auditor })).status).toBe(400);
  });

  it('pages with a cursor, newest first, without repeating or skipping an entry', async () => {
    await seal();
    const pages: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 3; i++) {
      const page: { body: { entries: { request_id: string }[]; next_cursor: string | null } } = await api.get(`/admin/api/audit?kind=lookup&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: auditor });
      expect(page.body.entries).toHaveLength(2);
      pages.push(...page.body.entries.map((e: { request_id: string }) => e.request_id));
      cursor = page.body.next_cursor;
    }
    const whole = await api.get('/admin/api/audit?kind=lookup&limit=6', { token: auditor });
    expect(pages).toEqual(whole.body.entries.map((e: { request_id: string }) => e.request_id));
    expect((await api.get('/admin/api/audit?cursor=forged', { token: auditor })).status).toBe(400);
  });

  it('shows a partner only its own accesses (BOLA)', async () => {
    const other = await onboardPartner(t, { organisation: { name: 'CAF', siret: '21690123100011' }, recipients: ['21690123100011'],
      scopes: ['droits.c2s'] });
    const otherToken = await partnerToken(t, other);
    await api.post('/v1/droits/recherche', { nir: '284057505612387', recipient: '21690123100011', object: 'autre', agent: 'caf-1' },
      { token: otherToken });
    await seal();
    const mine = await api.get('/v1/me/accesses', { token });
    expect(mine.status).toBe(200);
    expect(mine.body.entries.length).toBeGreaterThan(0);
    expect(mine.body.entries.every((e: { partner_id: string }) => e.partner_id === partner.partnerId)).toBe(true);
    const theirs = await api.get('/v1/me/accesses', { token: otherToken });
    expect(theirs.body.entries.map((e: { agent: string }) => e.agent)).toEqual(['caf-1']);
    expect((await api.get(`/v1/me/accesses?partner=${partner.partnerId}`, { token: otherToken })).status).toBe(400);
    expect((await api.get('/admin/api/audit', { token: otherToken })).status).toBe(401);
  });

  it('refuses the trail to operators without the auditor role, and traces auditors\' searches', async () => {
    const admin = await operatorToken(t);
    await api.post('/admin/api/operators', { email: 'ops2@dinsic.test', password: 'operator password 1', roles: ['operator'] }, { token: admin });
    const operatorOnly = await operatorToken(t, { email: 'ops2@dinsic.test', password: 'operator password 1' });
    expect((await api.get('/admin/api/audit', { token: operatorOnly })).status).toBe(403);
    await seal();
    const traced = await api.get('/admin/api/audit?kind=action', { token: auditor });
    expect(traced.body.entries.some((e: { action: string }) => e.action === 'audit.searched')).toBe(true);
    expect(traced.body.entries.some((e: { action: string }) => e.action === 'access_request.approved')).toBe(true);
  });

  it('answers 503 audit_unavailable, with no personal data, when the trail cannot take the entry', async () => {
    await t.sql('REVOKE EXECUTE ON FUNCTION audit_append FROM gateway_app');
    try {
      const answer = await lookup({ nir: '284057505612387' });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'audit_unavailable', retryable: true });
      expect(answer.text).not.toMatch(/ouverture|DUPONT|c2s/);
    } finally {
      await t.sql('GRANT EXECUTE ON FUNCTION audit_append TO gateway_app');
    }
    expect((await lookup({ nir: '284057505612387' })).status).toBe(200);
  });

  describe('append-only in the database', () => {
    let asApp: Client;
    beforeAll(async () => {
      await lookup({ nir: '284057505612387' });
      await seal();
      asApp = new Client({ connectionString: t.appDatabaseUrl });
      await asApp.connect();
    });
    afterAll(() => asApp.end());

    it.each(['UPDATE audit_entries SET agent = $$x$$', 'DELETE FROM audit_entries', 'TRUNCATE audit_entries',
      'INSERT INTO audit_entries (occurred_at, kind, outcome) VALUES (now(), $$action$$, $$ok$$)', 'UPDATE audit_seals SET hash = $$x$$', 'DELETE FROM audit_seals WHERE seq = 1', 'TRUNCATE audit_seals',
      'INSERT INTO audit_seals (seq, entry_id, sealed_at, prev_hash, hash) VALUES (999, 1, now(), $$x$$, $$x$$)',
      'DELETE FROM audit_pending', 'TRUNCATE audit_pending', 'INSERT INTO audit_pending (entry_id) VALUES (999)',
      'UPDATE audit_checkpoints SET hash = $$x$$', 'DELETE FROM audit_checkpoints'])(
      'refuses the application role: %s', async (statement) => {
        await expect(asApp.query(statement)).rejects.toThrow(/permission denied/);
      });

    it.each(['UPDATE audit_entries SET agent = $$x$$', 'DELETE FROM audit_entries', 'TRUNCATE audit_entries',
      'UPDATE audit_seals SET hash = $$x$$ WHERE seq = 1', 'DELETE FROM audit_seals WHERE seq = 1', 'TRUNCATE audit_seals',
      'UPDATE audit_pending SET entry_id = 0', 'DELETE FROM audit_pending', 'TRUNCATE audit_pending',
      'DELETE FROM audit_checkpoints', 'TRUNCATE audit_anchors'])('refuses even the owner: %s', async (statement) => {
      await expect(t.sql(statement)).rejects.toThrow(/append-only/);
    });

    it('refuses the purge function\'s privilege to a role that only sets its flag', async () => {
      await asApp.query(`SELECT set_config('audit.purge', 'on', false)`);
      await expect(asApp.query('DELETE FROM audit_entries')).rejects.toThrow(/permission denied/);
    });
  });

  it('seals a gapless chain, even when an earlier INSERT commits after a later one', async () => {
    const slow = new Client({ connectionString: t.databaseUrl });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      // As audit_append does it (this connection is the owner's, to write one row by hand).
      await slow.query(`WITH added AS (INSERT INTO audit_entries (occurred_at, kind, outcome, action) VALUES (now(), 'action', 'ok', 'late')
        RETURNING id) INSERT INTO audit_pending (entry_id) SELECT id FROM added`);
      await lookup({ nir: '192036912304577' }); // a later id, committed first
      await seal();
      await slow.query('COMMIT');
      await seal();
    } finally {
      await slow.end();
    }
    const rows = await t.sql<{ seq: string; action: string | null }>('SELECT seq, action FROM audit_log ORDER BY seq');
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(rows.some((r) => r.action === 'late')).toBe(true);
    expect(await t.sql('SELECT * FROM audit_pending')).toEqual([]);
  });

  it('lets one sealer at a time run, across instances: two racing sealers leave one gapless chain', async () => {
    await seal();
    const queue = t.app.get(AuditQueue);
    const batch = Array.from({ length: 2500 }, (_, i) => ({ occurred_at: new Date(), kind: 'action' as const, outcome: 'ok', action: `race-${i}` }));
    await queue.insert(batch.slice(0, 1200));
    await queue.insert(batch.slice(1200));
    const other = new AuditSealer(t.app.get(Database), t.app.get(CheckpointKeys), t.clock, t.config, new Metrics());
    const [first, second] = await Promise.all([seal(), other.sealPending()]);
    expect(first + second).toBe(2500);
    expect(await t.sql('SELECT * FROM audit_pending')).toEqual([]);
    const [{ count, max }] = await t.sql<{ count: string; max: string }>('SELECT count(*), max(seq) FROM audit_seals');
    expect(Number(count)).toBe(Number(max));
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true, checked: Number(count) });
  });

  it('commits batches in chain order: when one batch fails, the ones after it are rolled back, and a later run resumes', async () => {
    await seal();
    const [{ base }] = await t.sql<{ base: string }>('SELECT COALESCE(max(seq), 0) AS base FROM audit_seals');
    const queue = t.app.get(AuditQueue);
    for (let i = 0; i < 5; i++) {
      await queue.insert(Array.from({ length: 1000 }, (_, j) => ({ occurred_at: new Date(), kind: 'action' as const, outcome: 'ok', action: `batch-${i}-${j}` })));
    }
    // The second batch of 2,000 fails inside the database; the third may already be written when it does.
    await t.sql(`CREATE FUNCTION fail_seal() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
      CREATE TRIGGER fail_seal BEFORE INSERT ON audit_seals FOR EACH ROW WHEN (NEW.seq = ${Number(base) + 2500}) EXECUTE FUNCTION fail_seal()`);
    try {
      await expect(seal()).rejects.toThrow(/disk full/);
      const [{ max }] = await t.sql<{ max: string }>('SELECT max(seq) AS max FROM audit_seals');
      expect(Number(max)).toBe(Number(base) + 2000);
      expect(await t.sql('SELECT entry_id FROM audit_pending')).toHaveLength(3000);
    } finally {
      await t.sql('DROP TRIGGER fail_seal ON audit_seals; DROP FUNCTION fail_seal()');
    }
    expect(await seal()).toBe(3000);
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true, checked: Number(base) + 5000 });
  });

  it('finds sparse matches across chunks of the chain, newest first, and pages through them with the cursor', async () => {
    const queue = t.app.get(AuditQueue);
    const old = '0b8f1c44-1111-4111-8111-000000000001';
    const busy = '0b8f1c44-2222-4222-8222-000000000002';
    const lookup = (partner: string, agent: string) => ({ occurred_at: new Date(), kind: 'lookup' as const, partner_id: partner, agent,
      outcome: 'ok', http_status: 200, subject_ref: `ref-${agent}` });
    // The old partner's entries come first, then many of another partner's, with a rare agent now and then.
    await queue.insert([lookup(old, 'ancien-1'), lookup(old, 'ancien-2'), lookup(old, 'ancien-3')]);
    await queue.insert(Array.from({ length: 450 }, (_, i) => lookup(busy, i % 150 === 0 ? 'rare' : 'courant')));
    await seal();
    const audit = t.app.get(AuditService);
    const byPartner = await audit.search({ partnerId: old }, undefined, 2);
    expect(byPartner.entries.map((e) => e.agent)).toEqual(['ancien-3', 'ancien-2']);
    const rest = await audit.search({ partnerId: old }, byPartner.next_cursor!, 2);
    expect(rest).toMatchObject({ entries: [{ agent: 'ancien-1' }], next_cursor: null });

    const rare = await audit.search({ partnerId: busy, agent: 'rare' }, undefined, 2);
    expect(rare.entries).toHaveLength(2);
    const more = await audit.search({ partnerId: busy, agent: 'rare' }, rare.next_cursor!, 2);
    expect(more).toMatchObject({ entries: [{ agent: 'rare' }], next_cursor: null });
    const seqs = [...rare.entries, ...more.entries].map((e) => Number(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect((await audit.search({ subjectRef: 'ref-ancien-2' }, undefined, 10)).entries.map((e) => e.agent)).toEqual(['ancien-2']);
  });

  it('passes hostile values through the binary arrays of the append and the seal unchanged', async () => {
    const values = ['a b', 'x,y', '{z}', 'say "hi"', 'back\\slash', '', 'NULL', null, 'é\u0001', 'é€😀'];
    const [{ a }] = await t.sql<{ a: (string | null)[] }>('SELECT $1::text[] AS a', [textArray(values)]);
    expect(a).toEqual(values);
    const partners = ['0b8f1c44-3333-4333-8333-000000000003', null, 'FFFFFFFF-FFFF-4FFF-8FFF-FFFFFFFFFFFF'];
    const times = [new Date('2026-12-04T09:30:15.123Z'), new Date('1999-12-31T23:59:59.999Z'), null];
    const [binary] = await t.sql<{ ids: string[]; partners: (string | null)[]; none: string[]; count: number; times: (string | null)[];
      ints: (number | null)[]; json: unknown[] }>(
      `SELECT $1::bigint[]::text[] AS ids, $2::uuid[] AS partners, $3::text[] AS none, cardinality($3::text[]) AS count,
         (SELECT array_agg(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) FROM unnest($4::timestamptz[]) t) AS times,
         $5::int[] AS ints, $6::jsonb[] AS json`,
      [int8Array(['1', 42, '9223372036854775807']), uuidArray(partners), textArray([]), timestamptzArray(times),
        int4Array([200, null, -1, 2147483647]), jsonbArray(['{"note":"say \\"hi\\" é€"}', null, '[1,{"a":null}]'])]);
    expect(binary).toEqual({ ids: ['1', '42', '9223372036854775807'], partners: [partners[0], null, partners[2]!.toLowerCase()],
      none: [], count: 0, times: ['2026-12-04T09:30:15.123Z', '1999-12-31T23:59:59.999Z', null], ints: [200, null, -1, 2147483647],
      json: [{ note: 'say "hi" é€' }, null, [1, { a: null }]] });
    // And through the append path into the sealed chain, field by field.
    const agents = ['say "hi", {x}', 'back\\slash', 'NULL', '', 'ligne 1\nligne 2', 'é€😀'];
    await t.app.get(AuditQueue).insert(agents.map((agent) => ({ occurred_at: new Date(), kind: 'lookup' as const, agent,
      partner_id: '0b8f1c44-3333-4333-8333-000000000003', outcome: 'ok', detail: { note: agent }, scopes_returned: [] })));
    await seal();
    const found = await t.app.get(AuditService).search({ partnerId: '0b8f1c44-3333-4333-8333-000000000003' }, undefined, 10);
    expect(found.entries.map((e) => e.agent).reverse()).toEqual(agents);
    expect(found.entries.map((e) => (e.detail as { note: string }).note).reverse()).toEqual(agents);
    expect(found.entries.every((e) => Array.isArray(e.scopes_returned) && e.scopes_returned.length === 0)).toBe(true);
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true });
  });

  it('publishes signed checkpoints anyone can check', async () => {
    const latest = await api.get('/v1/audit/checkpoints/latest');
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.any(String),
      key_id: expect.any(String), signature: expect.any(String), public_key: expect.any(String) });
    expect(checkpointSignatureValid(latest.body, latest.body.public_key)).toBe(true);
    expect(checkpointSignatureValid({ ...latest.body, seq: latest.body.seq + 1 }, latest.body.public_key)).toBe(false);
  });

  describe('export and verification', () => {
    const dir = tempFolder('audit-export-');
    let exported: string;
    beforeAll(async () => {
      for (let i = 0; i < 6; i++) await lookup({ nir: '171122A00400106' });
      await seal();
      const answer = await api.get('/admin/api/audit/export?format=ndjson', { token: auditor });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/application\/x-ndjson/);
      exported = answer.text;
    });

    const verifyFile = (text: string, extra: string[] = []) => {
      const file = join(dir, `export-${Math.random()}.ndjson`);
      writeFileSync(file, text);
      try {
        return { code: 0, result: JSON.parse(execFileSync('node', [CLI, 'audit:verify', file, ...extra], { encoding: 'utf8' })) };
      } catch (error) {
        const failure = error as { status: number; stdout: string };
        return { code: failure.status, result: JSON.parse(failure.stdout) };
      }
    };

    it('exports NDJSON with a header, the chain fields and the covering checkpoints, which verify offline', () => {
      const lines = exported.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ type: 'header', format: 'api-droits-cnam-audit/1', contiguous: true, end_line: true });
      const entries = lines.filter((l) => l.type === 'entry');
      expect(lines[lines.length - 1]).toEqual({ type: 'end', entries: entries.length,
        checkpoints: lines.filter((l) => l.type === 'checkpoint').length, last_seq: entries[entries.length - 1].seq });
      // Each entry line holds its canonical text as it is (operators' actions with their detail included), so that
      // its verification hashes the line without parsing it.
      expect(entries.some((e) => e.detail !== null)).toBe(true);
      const entryLines = exported.trim().split('\n').filter((line) => line.startsWith('{"type":"entry"'));
      expect(entryLines.filter((line) => exportLineHashed(line) === undefined)).toEqual([]);
      expect(entries[0]).toMatchObject({ seq: 1, prev_hash: '0'.repeat(64) });
      expect(lines.some((l) => l.type === 'checkpoint')).toBe(true);
      const { code, result } = verifyFile(exported);
      expect(code).toBe(0);
      expect(result).toMatchObject({ ok: true, checked: entries.length });
      expect(result.checkpoints_checked).toBeGreaterThan(0);
      // What the signatures vouch for: up to the last checkpoint whose entry is in the file; the rest links by hash.
      const entrySeqs = new Set(entries.map((e) => e.seq));
      const signedThrough = Math.max(...lines.filter((l) => l.type === 'checkpoint' && entrySeqs.has(l.seq)).map((l) => l.seq));
      expect(result).toMatchObject({ contiguous: true, signed_through_seq: signedThrough,
        unsigned_entries: entries[entries.length - 1].seq - signedThrough, complete: true });
    });

    it('exports and verifies a time range as its contiguous part of the chain', async () => {
      const from = new Date(Date.now() - 60_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const ranged = await api.get(`/admin/api/audit/export?from=${from}&to=${to}`, { token: auditor });
      expect(ranged.status).toBe(200);
      expect(verifyFile(ranged.text)).toMatchObject({ code: 0, result: { ok: true } });
      const verified = await api.get(`/admin/api/audit/verify?from=${from}&to=${to}`, { token: auditor });
      expect(verified.body).toMatchObject({ ok: true });
      expect(verified.body.checked).toBeGreaterThan(0);
      const bad = await api.get('/admin/api/audit/verify?from=yesterday', { token: auditor });
      expect(bad.status).toBe(400);
    });

    it('exports one partner\'s entries, which verify each on its own, the file whole', async () => {
      const answer = await api.get(`/admin/api/audit/export?partner=${partner.partnerId}`, { token: auditor });
      const lines = answer.text.trim().split('\n').map((line) => JSON.parse(line));
      const entries = lines.filter((line) => line.type === 'entry');
      expect(entries.length).toBeGreaterThan(5);
      expect(entries.every((entry) => entry.partner_id === partner.partnerId)).toBe(true);
      expect(lines[lines.length - 1]).toMatchObject({ type: 'end', entries: entries.length });
      expect(verifyFile(answer.text)).toMatchObject({ code: 0,
        result: { ok: true, checked: entries.length, contiguous: false, signed_through_seq: null, complete: true } });
      // Cut before its end line, it does not pass for a smaller export.
      const cut = answer.text.trim().split('\n').slice(0, -1).join('\n') + '\n';
      expect(verifyFile(cut)).toMatchObject({ code: 1, result: { ok: false, problem: expect.stringContaining('cut short') } });
    });

    it('names the first bad entry of a tampered export, and refuses a forged checkpoint', () => {
      const lines = exported.trim().split('\n');
      const index = lines.findIndex((l) => l.includes('"seq":3,'));
      const tampered = [...lines];
      tampered[index] = tampered[index].replace('"outcome":"', '"outcome":"x');
      expect(verifyFile(tampered.join('\n'))).toMatchObject({ code: 1, result: { ok: false, first_bad_seq: 3 } });
      const removed = lines.filter((_, i) => i !== index);
      expect(verifyFile(removed.join('\n'))).toMatchObject({ code: 1, result: { ok: false, first_bad_seq: 3 } });
      const forged = lines.map((l) => (l.includes('"type":"checkpoint"') ? l.replace(/"hash":"[0-9a-f]+"/, `"hash":"${'a'.repeat(64)}"`) : l));
      expect(verifyFile(forged.join('\n'))).toMatchObject({ code: 1, result: { ok: false, problem: 'checkpoint signature is invalid' } });
      const unknownKey = lines.map((l) => (l.includes('"type":"checkpoint"') ? l.replace(/"key_id":"[^"]+"/, '"key_id":"unknown"') : l));
      expect(verifyFile(unknownKey.join('\n'))).toMatchObject({ code: 1, result: { ok: false, problem: 'checkpoint signed by an unknown key' } });
      const otherKey = 'MCowBQYDK2VwAyEA' + 'A'.repeat(43) + '=';
      expect(verifyFile(exported, ['--public-key', otherKey]).result.ok).toBe(false);
    });

    it('neutralises spreadsheet formulas in the CSV export, not in the verified NDJSON', async () => {
      await lookup({ nir: '171122A00400106', object: '=HYPERLINK("http://evil")' });
      await seal();
      const csv = await api.get('/admin/api/audit/export?format=csv', { token: auditor });
      expect(csv.text).toContain(`"'=HYPERLINK(""http://evil"")"`);
      const ndjson = await api.get('/admin/api/audit/export', { token: auditor });
      expect(ndjson.text).toContain('"object":"=HYPERLINK(\\"http://evil\\")"');
    });

    it('exports CSV with the chain fields', async () => {
      const csv = await api.get('/admin/api/audit/export?format=csv', { token: auditor });
      expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
      const rows = csv.text.trim().split('\r\n');
      expect(rows[0]).toBe('record_type,seq,occurred_at,kind,partner_id,recipient,agent,context,object,operator_id,action,target,detail,'
        + 'subject_ref,scopes_returned,outcome,http_status,request_id,upstream_ms,prev_hash,hash,key_id,signature');
      const ndjson = (await api.get('/admin/api/audit/export', { token: auditor })).text;
      expect(rows.filter((r) => r.startsWith('entry,')).length).toBe(ndjson.split('"type":"entry"').length - 1);
      expect(rows.some((r) => r.startsWith('checkpoint,'))).toBe(true);
    });

    it('runs one verification at a time per instance, queues four behind it, and refuses more (429, Retry-After)', async () => {
      // The first verification is held by a lock on the seals; five more come while it waits.
      const seals = await lockTables(t.databaseUrl, 'audit_seals');
      try {
        const first = api.get('/admin/api/audit/verify', { token: auditor });
        await eventually('the first verification waits for the lock', async () => (await t.sql<{ n: number }>(`SELECT count(*)::int
          AS n FROM pg_locks WHERE NOT granted AND relation = 'audit_seals'::regclass`))[0].n > 0);
        const waiting = Array.from({ length: 4 }, () => api.get('/admin/api/audit/verify', { token: auditor }));
        await eventually('four verifications queued', () => t.app.get(AuditService).verificationsQueued() === 4);
        const refused = await api.get('/admin/api/audit/verify', { token: auditor });
        expect(refused.status).toBe(429);
        expect(refused.body).toMatchObject({ code: 'rate_limited', detail: expect.stringContaining('verification') });
        expect(refused.headers.get('retry-after')).toBe('5');
        // Only the first reached the database meanwhile: the others have not started.
        expect((await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'audit_seals'::regclass`))[0].n).toBe(1);
        await seals.release();
        for (const answer of await Promise.all([first, ...waiting])) expect(answer.body).toMatchObject({ ok: true });
      } finally {
        await seals.release();
      }
      // Once they are done, verifications are taken again.
      expect((await api.get('/admin/api/audit/verify', { token: auditor })).body).toMatchObject({ ok: true });
    });

    it('gives up a verification whose client left, waiting or running: the next one takes the turn, nothing is logged', async () => {
      const errors = jest.spyOn(Logger.prototype, 'error');
      const waitingForLock = async () => (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks
        WHERE NOT granted AND relation = 'audit_checkpoints'::regclass`))[0].n;
      // An auditor's client that sends the request, then closes its connection when told.
      const leaving = () => {
        const left = new AbortController();
        const answer = fetch(`${t.url}/admin/api/audit/verify`, { headers: { authorization: `Bearer ${auditor}` }, signal: left.signal })
          .then((response) => response.status, () => 'left');
        return { leave: () => left.abort(), answer };
      };
      // The verification's own reads wait (its first is of the checkpoints), as over a long trail.
      const checkpoints = await lockTables(t.databaseUrl, 'audit_checkpoints');
      try {
        const running = leaving();
        await eventually('the first verification reads, and waits for the lock', async () => (await waitingForLock()) > 0);
        const queued = leaving();
        const stays = api.get('/admin/api/audit/verify', { token: auditor });
        await eventually('two verifications queued', () => t.app.get(AuditService).verificationsQueued() === 2);
        queued.leave();
        await eventually('the one whose client left is out of the line', () => t.app.get(AuditService).verificationsQueued() === 1);
        running.leave();
        // The running one gave up though its query still waits for the lock: the one that stayed runs now.
        await eventually('the verification that stayed has the turn', () => t.app.get(AuditService).verificationsQueued() === 0);
        expect(await Promise.all([running.answer, queued.answer])).toEqual(['left', 'left']);
        await checkpoints.release();
        expect((await stays).body).toMatchObject({ ok: true });
      } finally {
        await checkpoints.release();
      }
      expect(errors).not.toHaveBeenCalled();
      errors.mockRestore();
    });

    it('verifies the database, and names the place of each kind of tampering', async () => {
      const verify = async () => (await api.get('/admin/api/audit/verify', { token: auditor })).body;
      expect(await verify()).toMatchObject({ ok: true });
      // Tampering as a superuser, triggers bypassed.
      const tamper = async (sql: string) => {
        await t.sql(`BEGIN; SET LOCAL session_replication_role = replica; ${sql}; COMMIT;`);
      };
      await tamper(`CREATE TEMP TABLE saved_entries AS SELECT * FROM audit_entries; CREATE TEMP TABLE saved_seals AS SELECT * FROM audit_seals`);
      const restore = () => tamper('DELETE FROM audit_entries; INSERT INTO audit_entries SELECT * FROM saved_entries; '
        + 'DELETE FROM audit_seals; INSERT INTO audit_seals SELECT * FROM saved_seals');

      await tamper(`UPDATE audit_entries SET agent = 'intrus' WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = 4)`);
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 4 });
      await restore();

      await tamper('DELETE FROM audit_entries WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = 5); DELETE FROM audit_seals WHERE seq = 5');
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 5 });
      await restore();

      await tamper(`UPDATE audit_seals SET seq = -seq WHERE seq IN (6, 7); UPDATE audit_seals SET seq = CASE seq WHEN -6 THEN 7 ELSE 6 END WHERE seq IN (-6, -7)`);
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 6 });
      await restore();

      // The seal's search copy of the partner, not hashed, would hide the entry from a search by partner.
      await tamper(`UPDATE audit_seals SET partner_id = gen_random_uuid() WHERE seq = 3`);
      expect(await verify()).toMatchObject({ ok: false, first_bad_seq: 3, problem: expect.stringMatching(/copy differs/) });
      await restore();

      await tamper(`UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE seq = (SELECT max(seq) FROM audit_checkpoints)`);
      expect(await verify()).toMatchObject({ ok: false, problem: 'checkpoint signature is invalid' });
    });
  });
});

describe('audit retention', () => {
  let t: TestApp;
  const DAY = 86_400_000;
  const dir = tempFolder('audit-retention-');
  beforeAll(async () => {
    // One month: the period the database enforces (set by the owner at start-up from AUDIT_RETENTION_MONTHS).
    t = await startTestApp({ AUDIT_CHECKPOINT_EVERY: '3', AUDIT_RETENTION_MONTHS: '1' });
  });
  afterAll(() => t?.close());
  const purgeCli = () => execFileSync('node', [CLI, 'audit:purge'], { encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: t.databaseUrl, SECRET_KEY: t.config.secretKey!.toString('hex'), AUDIT_RETENTION_MONTHS: '1',
      LOG_LEVEL: 'error' } }).trim().split('\n').pop();
  const trailReaders = async () => (await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks
    WHERE locktype = 'advisory' AND objid = $1 AND mode = 'ShareLock' AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, [TRAIL_READ_LOCK]))[0].n;

  it('purges whole sealed segments past the period the database holds, and leaves an anchor that says what it removed', async () => {
    const api = client(t.url);
    const auditor = await operatorToken(t);
    // Four rejected requests 40 days ago (their entries and the checkpoints sealing them dated then), two today.
    t.clock.set(new Date(Date.now() - 40 * DAY));
    for (let i = 0; i < 4; i++) {
      const submitted = await api.post('/v1/access-requests', accessRequestBody());
      await api.post(`/admin/api/access-requests/${submitted.body.id}/reject`, { reason: 'pièces manquantes' }, { token: auditor });
    }
    await t.app.get(AuditSealer).sealPending();
    const [{ head }] = await t.sql<{ head: string }>('SELECT max(seq) AS head FROM audit_seals');
    const [{ last_old: lastOld }] = await t.sql<{ last_old: string }>('SELECT max(seq) AS last_old FROM audit_checkpoints');
    const [{ hash: lastOldHash }] = await t.sql<{ hash: string }>('SELECT hash FROM audit_seals WHERE seq = $1', [lastOld]);
    t.clock.set(new Date());
    for (let i = 0; i < 2; i++) await api.get('/admin/api/audit', { token: auditor });
    await t.app.get(AuditSealer).sealPending();

    // Kept past the period (40 days old, one month kept): /metrics says for how long, until the purge.
    const overdue = () => metricValue(t.url, 'gateway_audit_retention_overdue_seconds');
    expect(await overdue()).toBeGreaterThan(5 * DAY / 1000);
    // Not while a verification or an export reads the trail (it holds TRAIL_READ_LOCK shared): put off, and said so.
    const reader = new Client({ connectionString: t.databaseUrl });
    await reader.connect();
    try {
      await reader.query('SELECT pg_advisory_lock_shared($1)', [TRAIL_READ_LOCK]);
      expect(await t.app.get(AuditService).purgeExpired()).toBeNull();
      expect(purgeCli()).toMatch(/^Nothing purged: the trail is being read/);
      expect(await t.sql('SELECT seq FROM audit_anchors')).toEqual([]);
    } finally {
      await reader.end();
    }
    // Then `npm run cli -- audit:purge` (or the next hourly run) removes it.
    expect(purgeCli()).toBe(`${lastOld} audit entries purged (whole sealed segments past the retention period).`);
    const removed = Number(lastOld);
    expect(Number(lastOld)).toBeLessThanOrEqual(Number(head));
    const [anchor] = await t.sql<{ seq: string; from_seq: string; entries: string; hash: string }>(
      'SELECT seq, from_seq, entries, hash FROM audit_anchors');
    expect(anchor).toEqual({ seq: lastOld, from_seq: '1', entries: String(removed), hash: lastOldHash });
    const [{ min }] = await t.sql<{ min: string }>('SELECT min(seq) AS min FROM audit_log');
    expect(Number(min)).toBe(Number(lastOld) + 1);
    expect(await overdue()).toBe(0);
    // What the console's audit page shows of it.
    expect(await t.app.get(AuditService).retention()).toMatchObject({ months: 1,
      lastPurge: { seq: Number(lastOld), from_seq: 1, entries: removed, hash: lastOldHash } });

    const verified = await api.get('/admin/api/audit/verify', { token: auditor });
    expect(verified.body).toMatchObject({ ok: true });
    expect(verified.body.checked).toBeGreaterThan(0);
    expect(await t.app.get(AuditService).purgeExpired()).toBe(0);
  });

  it('holds the purge off while a verification reads the trail, so that its start is not removed under it', async () => {
    // A verification that reads for as long as the lock on the checkpoints is held.
    const checkpoints = await lockTables(t.databaseUrl, 'audit_checkpoints');
    try {
      const verifying = t.app.get(AuditService).verify();
      await eventually('the verification holds the lock', async () => (await trailReaders()) === 1);
      await checkpoints.release();
      expect(await verifying).toMatchObject({ ok: true });
      expect(await trailReaders()).toBe(0);
    } finally {
      await checkpoints.release();
    }
  });

  it('holds the purge off while exports are read, on one session of the instance, until the last ends, its client leaves or stops reading', async () => {
    // Exports (~17 MB) larger than what the sockets and streams buffer, so that a client that stops reading holds one open.
    const queue = t.app.get(AuditQueue);
    for (let i = 0; i < 10; i++) {
      await queue.insert(Array.from({ length: 2000 }, (_, j) => ({ occurred_at: new Date(), kind: 'action' as const, outcome: 'ok',
        action: 'export-filler', detail: { n: i * 2000 + j, note: 'x'.repeat(500) } })));
    }
    await t.app.get(AuditSealer).sealPending();
    const auditor = await operatorToken(t);
    const url = new URL('/admin/api/audit/export?format=ndjson', t.url);
    // A client that reads the first chunk and then stops reading (or leaves).
    const startExport = () => new Promise<{ request: http.ClientRequest; response: http.IncomingMessage; received: Buffer[] }>((resolve, reject) => {
      const request = http.get(url, { headers: { authorization: `Bearer ${auditor}` } }, (response) => {
        expect(response.statusCode).toBe(200);
        const received: Buffer[] = [];
        response.on('data', (chunk: Buffer) => received.push(chunk));
        response.once('data', () => { response.pause(); resolve({ request, response, received }); });
      });
      request.on('error', reject);
    });
    const { request: first } = await startExport();
    const { request: second } = await startExport().catch((error) => { first.destroy(); throw error; });
    try {
      expect(await trailReaders()).toBe(1);
      expect(await t.app.get(AuditService).purgeExpired()).toBeNull();
      first.destroy();
      await sleep(200);
      expect(await trailReaders()).toBe(1);
    } finally {
      first.destroy();
      second.destroy();
    }
    await eventually('the exports gave the lock back', async () => (await trailReaders()) === 0);
    expect(await t.app.get(AuditService).purgeExpired()).toBe(0);

    // An export read to its end gives the lock back too.
    const whole = await client(t.url).get('/admin/api/audit/export?format=ndjson', { token: auditor });
    expect(whole.status).toBe(200);
    expect(await trailReaders()).toBe(0);
    const wholeFile = join(dir, 'whole-export.ndjson');
    writeFileSync(wholeFile, whole.text);
    expect(await verifyExportFile(wholeFile, undefined, [], { worker: null })).toMatchObject({ ok: true, complete: true });

    // A client that stops reading but keeps its connection: the export is ended (here after 300 ms instead of two
    // minutes), its connection closed, the lock given back, and the gateway goes on answering.
    const service = t.app.get(AuditService);
    const original = service.export.bind(service);
    const shortened = jest.spyOn(service, 'export').mockImplementation((filter, format) => original(filter, format, { stallMs: 300 }));
    try {
      const stalled = await startExport();
      try {
        await eventually('the stalled export ended', async () => (await trailReaders()) === 0);
        // What the client had not read yet, then the end of a connection cut before the answer was complete.
        const cut = new Promise<boolean>((resolve) => stalled.response.on('close', () => resolve(stalled.response.complete)));
        stalled.response.resume();
        expect(await cut).toBe(false);
        // The file the client has, even kept to its last whole line, does not pass for a whole export.
        const text = Buffer.concat(stalled.received).toString('utf8');
        const stalledFile = join(dir, 'stalled-export.ndjson');
        writeFileSync(stalledFile, text.slice(0, text.lastIndexOf('\n') + 1));
        expect(await verifyExportFile(stalledFile, undefined, [], { worker: null }))
          .toMatchObject({ ok: false, problem: 'the file ends before its end line: it was cut short (export it again)' });
      } finally {
        stalled.request.destroy();
      }
      expect(await t.app.get(AuditService).purgeExpired()).toBe(0);
    } finally {
      shortened.mockRestore();
    }
    expect((await client(t.url).get('/v1/audit/checkpoints/latest')).status).toBe(200);
  });

  it('keeps the segment holding an entry still within the period, even when older entries follow it in the chain', async () => {
    const queue = t.app.get(AuditQueue);
    const at = (days: number) => new Date(Date.now() + days * DAY);
    const action = (occurred_at: Date, name: string) => ({ occurred_at, kind: 'action' as const, outcome: 'ok', action: name });
    // Sealed in this order: three old entries, one recent, then six old ones (checkpoints every 3 entries, dated then).
    await queue.insert([action(at(-40), 'old-1'), action(at(-40), 'old-2'), action(at(-40), 'old-3')]);
    await queue.insert([action(at(-2), 'recent')]);
    await queue.insert(Array.from({ length: 6 }, (_, i) => action(at(-40), `old-${i + 4}`)));
    t.clock.set(at(-35));
    await t.app.get(AuditSealer).sealPending();
    t.clock.set(new Date());
    const [{ seq: recent }] = await t.sql<{ seq: string }>(`SELECT seq FROM audit_log WHERE action = 'recent'`);
    await t.app.get(AuditService).purgeExpired();
    const [{ seq: anchor }] = await t.sql<{ seq: string }>('SELECT max(seq) AS seq FROM audit_anchors');
    expect(Number(anchor)).toBeLessThan(Number(recent));
    expect(await t.sql(`SELECT seq FROM audit_log WHERE action = 'recent'`)).toHaveLength(1);
    expect(await t.app.get(AuditService).verify()).toMatchObject({ ok: true });
  });

  it('gives the application role no way to choose the cutoff nor to change the period', async () => {
    const asApp = new Client({ connectionString: t.appDatabaseUrl });
    await asApp.connect();
    try {
      const [{ count: before }] = await t.sql<{ count: string }>('SELECT count(*) FROM audit_entries');
      // What erased the whole trail before: a cutoff a century ahead.
      await expect(asApp.query(`SELECT audit_purge(now() + interval '100 years')`)).rejects.toThrow(/does not exist/);
      await expect(asApp.query('UPDATE audit_settings SET retention_months = 1')).rejects.toThrow(/permission denied/);
      await expect(asApp.query('INSERT INTO audit_anchors (seq, hash, at, key_id, signature, purged_at, entries, from_seq) '
        + `VALUES (999999, 'x', now(), 'k', 's', now(), 1, 1)`)).rejects.toThrow(/permission denied/);
      const { rows: [{ removed }] } = await asApp.query('SELECT audit_purge() AS removed');
      expect(Number(removed)).toBe(0);
      expect((await t.sql<{ count: string }>('SELECT count(*) FROM audit_entries'))[0].count).toBe(before);
    } finally {
      await asApp.end();
    }
  });
});

describe('audit search over a long history', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;
  let auditor: string;
  const partnerId = '6f1c9d2e-0000-4000-8000-00000000beef';
  beforeAll(async () => {
    t = await startTestApp();
    api = client(t.url);
    auditor = await operatorToken(t);
    // 25,000 lookups of one partner, more than one search reads (SEARCH_SCAN_LIMIT).
    const queue = t.app.get(AuditQueue);
    for (let i = 0; i < 25; i++) {
      await queue.insert(Array.from({ length: 1000 }, (_, j) => ({ occurred_at: new Date(), kind: 'lookup' as const, partner_id: partnerId,
        agent: `agent-${j % 10}`, object: 'dossier', outcome: 'ok', http_status: 200 })));
    }
    await t.app.get(AuditSealer).sealPending();
  });
  afterAll(() => t?.close());

  it('finds that an agent has no entry without walking the partner\'s history', async () => {
    const answer = await api.get(`/admin/api/audit?partner=${partnerId}&agent=nobody&limit=5`, { token: auditor });
    expect(answer.body).toEqual({ entries: [], next_cursor: null });
    const some = await api.get(`/admin/api/audit?partner=${partnerId}&agent=agent-3&limit=5`, { token: auditor });
    expect(some.body.entries).toHaveLength(5);
    expect(some.body.entries.every((e: { agent: string }) => e.agent === 'agent-3')).toBe(true);
  });

  it('reads a bounded number of entries per call, and answers with a cursor to go on from where it stopped', async () => {
    const filter = `partner=${partnerId}&kind=lookup&to=2000-01-01&limit=5`;
    const first = await api.get(`/admin/api/audit?${filter}`, { token: auditor });
    expect(first.status).toBe(200);
    expect(first.body.entries).toEqual([]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await api.get(`/admin/api/audit?${filter}&cursor=${first.body.next_cursor}`, { token: auditor });
    expect(second.body).toEqual({ entries: [], next_cursor: null });
  });
});
