import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { AuditSealer } from '../src/audit/audit-sealer';
import { AuditorDesk } from '../src/audit/auditor-desk';
import { AuditService } from '../src/audit/audit.service';
import { ScheduledVerification } from '../src/audit/scheduled-verification';
import { Stopping } from '../src/common/stopping';
import { operatorToken, rejectedRequests } from './support/factories';
import { client } from './support/http';
import { eventually } from './faults/harness';
import { metricValue } from './support/metrics';
import { startTestApp, TestApp } from './support/test-app';
import { lockTables } from './support/database';

const HOUR = 3600_000;

/**
 * The whole trail verified on a schedule (AUDIT_VERIFY_EVERY_HOURS), by one instance of all: an entry altered in
 * old history is found without anyone asking, stored, logged, and on every instance's /metrics.
 */
describe('scheduled verification of the whole audit trail', () => {
  let t: TestApp;
  let other: TestApp;
  let operator: string;
  let superuser: Client;
  const scheduled = (app: TestApp = t) => app.app.get(ScheduledVerification);
  const metric = (app: TestApp, name: string) => metricValue(app.url, name);
  const runs = async () => (await t.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_verifications'))[0].n;

  /** Operator actions, each an entry of the chain, sealed. */
  async function actions(count: number): Promise<void> {
    await rejectedRequests(t.url, operator, count);
    await t.app.get(AuditSealer).sealPending();
  }

  function later(hours: number): void {
    t.clock.advance(hours * HOUR);
    other.clock.advance(hours * HOUR);
  }
  function at(time: string): void {
    t.clock.set(new Date(time));
    other.clock.set(new Date(time));
  }

  beforeAll(async () => {
    t = await startTestApp({ AUDIT_VERIFY_EVERY_HOURS: '24', AUDIT_CHECKPOINT_EVERY: '2' });
    // A second instance on the same database, as behind a load balancer.
    other = await startTestApp({ AUDIT_VERIFY_EVERY_HOURS: '24' }, { databaseUrl: t.databaseUrl });
    operator = await operatorToken(t);
    superuser = new Client({ connectionString: t.databaseUrl });
    await superuser.connect();
  });
  afterAll(async () => {
    await superuser?.end();
    await other?.close();
    await t?.close();
  });

  it('says nothing before the first run: no gauge, and the console says none took place', async () => {
    expect(await scheduled().latest()).toBeUndefined();
    // The first run waits for a period's start (the night): not in the middle of a first deployment's day.
    at('2027-01-12T15:20:00Z');
    expect(scheduled().nextRun(undefined, false)).toEqual(new Date('2027-01-13T00:00:00Z'));
    at('2027-01-12T00:30:00Z');
    expect(scheduled().nextRun(undefined, false)).toBe('due');
    expect(scheduled().nextRun(undefined, true)).toEqual(new Date('2027-01-13T00:00:00Z'));
    at(new Date().toISOString()); // back to now: the operator's token is still valid
    expect(await metric(t, 'gateway_audit_verification_ok')).toBeUndefined();
    expect((await client(t.url).get('/metrics')).text).toContain('# HELP gateway_audit_verification_ok');
    expect(await metric(t, 'gateway_audit_verification_period_seconds')).toBe(24 * 3600);
  });

  it('runs once per period across instances: two asking at once give one run, and none again before the next period', async () => {
    await actions(4);
    // Never run yet, a first start in the afternoon: the first run waits for the night.
    at('2027-01-12T15:20:00Z');
    expect(await scheduled(t).runIfDue()).toBeUndefined();
    expect(await runs()).toBe(0);
    at('2027-01-13T00:05:00Z');
    const [a, b] = await Promise.all([scheduled(t).runIfDue(), scheduled(other).runIfDue()]);
    const ran = a ?? b;
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(ran).toMatchObject({ ok: true, first_bad_seq: null, problem: null });
    const [{ sealed }] = await t.sql<{ sealed: number }>('SELECT count(*)::int AS sealed FROM audit_seals');
    expect(ran!.checked).toBe(sealed);
    expect(ran!.checkpoints_checked).toBeGreaterThan(0);
    expect(await runs()).toBe(1);

    // Both instances' /metrics say it (alert rules take the min or max across instances).
    for (const app of [t, other]) {
      expect(await metric(app, 'gateway_audit_verification_ok')).toBe(1);
      expect(await metric(app, 'gateway_audit_verification_last_timestamp_seconds')).toBe(ran!.finished_at.getTime() / 1000);
    }

    // Periods are counted from midnight UTC: with 24 hours, the next run comes just after midnight, not a period
    // after the last run's end (which would make it drift later into the day with each run's length).
    at('2027-01-13T23:59:00Z');
    expect(await scheduled(other).runIfDue()).toBeUndefined();
    expect(await runs()).toBe(1);
    // What the console's audit page says of the next one.
    expect(scheduled(t).nextRun(await scheduled(t).latest(), false)).toEqual(new Date('2027-01-14T00:00:00Z'));
    at('2027-01-14T00:05:00Z');
    expect(await scheduled(other).runIfDue()).toMatchObject({ ok: true });
    expect(await runs()).toBe(2);
    at('2027-01-14T18:00:00Z');
    expect(await scheduled(t).runIfDue()).toBeUndefined();
    // A night missed (every instance down at its start): caught up as soon as one looks.
    at('2027-01-15T18:00:00Z');
    expect(scheduled(t).nextRun(await scheduled(t).latest(), false)).toBe('due');
    expect(await scheduled(t).runIfDue()).toMatchObject({ ok: true });
    expect(await runs()).toBe(3);
  });

  it('finds an entry altered in old history, stores it, logs an error and turns the gauge to 0 on every instance', async () => {
    await actions(2);
    const [{ seq }] = await t.sql<{ seq: number }>('SELECT min(seq)::int AS seq FROM audit_seals');
    await superuser.query('BEGIN; SET LOCAL session_replication_role = replica');
    await superuser.query(`UPDATE audit_entries SET detail = '{"reason":"forged"}' WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = $1)`, [seq]);
    await superuser.query('COMMIT');
    const errors = jest.spyOn(Logger.prototype, 'error');
    try {
      at('2027-01-16T00:10:00Z');
      const found = await scheduled(t).runIfDue();
      expect(found).toMatchObject({ ok: false, first_bad_seq: seq, problem: 'hash does not match the entry' });
      expect(errors.mock.calls.map(([message]) => String(message))).toContainEqual(
        expect.stringMatching(new RegExp(`^AUDIT TRAIL VERIFICATION FAILED: hash does not match the entry \\(seq ${seq}\\)`)));
    } finally {
      errors.mockRestore();
    }
    expect(await runs()).toBe(4);
    for (const app of [t, other]) expect(await metric(app, 'gateway_audit_verification_ok')).toBe(0);
    expect(await scheduled(other).latest()).toMatchObject({ ok: false, first_bad_seq: seq });

    // The record of it cannot be rewritten into a pass through the application's role.
    const asApp = new Client({ connectionString: t.appDatabaseUrl });
    await asApp.connect();
    try {
      await expect(asApp.query('UPDATE audit_verifications SET ok = true')).rejects.toThrow(/permission denied/);
      await expect(asApp.query('DELETE FROM audit_verifications')).rejects.toThrow(/permission denied/);
    } finally {
      await asApp.end();
    }
    await expect(superuser.query('DELETE FROM audit_verifications')).rejects.toThrow(/append-only|refus|not allowed/i);
  });

  it('verifies the whole trail when an auditor asks, in the background, one run at a time across instances, traced', async () => {
    const [{ id: auditorId }] = await t.sql<{ id: string }>('SELECT id FROM operators ORDER BY created_at LIMIT 1');
    const before = await runs();
    // Held on its first read by a lock on the checkpoints, as a long trail holds it for minutes.
    await superuser.query('BEGIN');
    await superuser.query('LOCK TABLE audit_checkpoints IN ACCESS EXCLUSIVE MODE');
    try {
      expect(await t.app.get(AuditorDesk).startVerification(auditorId)).toBe(true);
      expect(await scheduled(other).inProgress()).toBe(true);
      expect(await scheduled(other).runNow(auditorId)).toBe(false); // running on the other instance
      expect(await scheduled(t).runNow(auditorId)).toBe(false); // running here
      expect(await scheduled(other).runIfDue()).toBeUndefined();
    } finally {
      await superuser.query('ROLLBACK');
    }
    await eventually('the run stored', async () => (await runs()) === before + 1);
    // Stored with who asked (the trail was altered by the test before: it still says so).
    expect(await scheduled(other).latest()).toMatchObject({ requested_by: auditorId, ok: false });
    expect(await scheduled(t).inProgress()).toBe(false);
    const traced = await t.sql<{ detail: Record<string, unknown> }>(
      `SELECT detail FROM audit_entries WHERE action = 'audit.verification_started' ORDER BY id`);
    expect(traced.map((row) => row.detail)).toEqual([{ actor_type: 'operator', started: true }]);
    // It stands for the scheduled run of this period; the next period's comes as usual.
    expect(await scheduled(t).runIfDue()).toBeUndefined();
    later(24);
    expect(await scheduled(t).runIfDue()).toMatchObject({ requested_by: null });
    expect(await runs()).toBe(before + 2);
  });

  it('does not make auditors wait behind it: theirs answer while it runs, and it starts while theirs fill their queue', async () => {
    const [{ id: auditorId }] = await t.sql<{ id: string }>('SELECT id FROM operators ORDER BY created_at LIMIT 1');
    const service = t.app.get(AuditService);
    const before = await runs();
    const auditor = await operatorToken(t); // the clock moved days since the first one
    const verify = () => client(t.url).get('/admin/api/audit/verify', { token: auditor });
    // The whole-trail run (one thread) held at its start, as a long trail holds it for an hour.
    const verifyNow = (service as unknown as { verifyNow: (...args: unknown[]) => Promise<unknown> }).verifyNow.bind(service);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const spy = jest.spyOn(service as never, 'verifyNow').mockImplementation((async (...args: unknown[]) => {
      if (args[3] === 1) await held;
      return verifyNow(...args);
    }) as never);
    try {
      expect(await scheduled(t).runNow(auditorId)).toBe(true);
      const answer = await verify();
      expect(answer.status).toBe(200);
      expect(answer.body.checked).toBeGreaterThan(0);
      expect(await scheduled(t).inProgress()).toBe(true);
    } finally {
      release();
    }
    await eventually('the run stored', async () => (await runs()) === before + 1);
    spy.mockRestore();

    // Auditors' verifications filling their queue (one held by a lock on its first read, four waiting): the run
    // still starts, and every one ends once the lock goes.
    const checkpoints = await lockTables(t.databaseUrl, 'audit_checkpoints');
    try {
      const theirs = Array.from({ length: 5 }, verify);
      await eventually('four verifications waiting', async () => service.verificationsQueued() === 4);
      expect(await scheduled(t).runNow(auditorId)).toBe(true);
      await checkpoints.release();
      for (const answer of await Promise.all(theirs)) expect(answer.status).toBe(200);
    } finally {
      await checkpoints.release();
    }
    await eventually('the second run stored', async () => (await runs()) === before + 2);
  });

  it('stores nothing when the verification cannot finish (the instance stopping), and tries again at the next check', async () => {
    const stopping = await startTestApp({ AUDIT_VERIFY_EVERY_HOURS: '1' }, { databaseUrl: t.databaseUrl });
    try {
      expect(await metric(stopping, 'gateway_audit_verification_period_seconds')).toBe(3600);
      stopping.clock.set(new Date('2027-01-18T00:00:00Z')); // a period without a run
      const before = await runs();
      stopping.app.get(Stopping).begin();
      await expect(scheduled(stopping).runIfDue()).resolves.toBeUndefined();
      expect(await runs()).toBe(before);
      // Another instance (or this one restarted) runs it at its next check.
      later(48);
      expect(await scheduled(other).runIfDue()).toMatchObject({ ok: false });
      expect(await runs()).toBe(before + 1);
    } finally {
      await stopping.close();
    }
  });
});
