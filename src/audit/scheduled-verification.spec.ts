import { AppConfig } from '../common/config/config';
import { Metrics } from '../common/metrics';
import { InstanceStopping, Stopping } from '../common/stopping';
import { Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { CHECK_INTERVAL_MS, ScheduledVerification, scheduledRunDue, scheduleSlot } from './scheduled-verification';

/** When each instance looks whether a verification is due (the run itself is tested end to end). */
describe('ScheduledVerification: its timer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function schedule(audit: Partial<AppConfig['audit']>) {
    const config = { audit: { sealIntervalMs: 50, verifyEveryHours: 24, ...audit } } as AppConfig;
    const scheduled = new ScheduledVerification({} as never, {} as never, new Clock(), config, new Stopping(), new Metrics());
    const runIfDue = jest.spyOn(scheduled, 'runIfDue').mockResolvedValue(undefined);
    scheduled.onApplicationBootstrap();
    return { scheduled, runIfDue };
  }

  it('looks every CHECK_INTERVAL_MS, and no longer once the module is destroyed', () => {
    const { scheduled, runIfDue } = schedule({});
    jest.advanceTimersByTime(CHECK_INTERVAL_MS - 1);
    expect(runIfDue).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(runIfDue).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(CHECK_INTERVAL_MS);
    expect(runIfDue).toHaveBeenCalledTimes(2);
    scheduled.onModuleDestroy();
    jest.advanceTimersByTime(10 * CHECK_INTERVAL_MS);
    expect(runIfDue).toHaveBeenCalledTimes(2);
  });

  it('never looks with AUDIT_VERIFY_EVERY_HOURS=0, nor when sealing is manual (tests)', () => {
    for (const audit of [{ verifyEveryHours: 0 }, { sealIntervalMs: 0 }]) {
      const { runIfDue } = schedule(audit);
      jest.advanceTimersByTime(10 * CHECK_INTERVAL_MS);
      expect(runIfDue).not.toHaveBeenCalled();
    }
  });

  it('logs a run that failed (the database out of reach) and looks again at the next check', async () => {
    const { runIfDue } = schedule({});
    runIfDue.mockRejectedValueOnce(Object.assign(new Error('connect ECONNREFUSED'), { name: 'AuditUnavailable' }));
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      jest.advanceTimersByTime(CHECK_INTERVAL_MS);
      await Promise.resolve();
      await Promise.resolve();
      expect(warn).toHaveBeenCalledWith('scheduled audit verification did not run: AuditUnavailable');
      jest.advanceTimersByTime(CHECK_INTERVAL_MS);
      expect(runIfDue).toHaveBeenCalledTimes(2);
    } finally {
      warn.mockRestore();
    }
  });
});

/** Starting one from the console: what the auditor is told at once. */
describe('ScheduledVerification.runNow', () => {
  const config = { audit: { sealIntervalMs: 50, verifyEveryHours: 24 } } as AppConfig;
  const make = (db: object, stopping = new Stopping()) =>
    new ScheduledVerification(db as never, {} as never, new Clock(), config, stopping, new Metrics());

  it('fails with the reason when it could not begin (the database out of reach), rather than saying one runs', async () => {
    const scheduled = make({ underLock: jest.fn().mockRejectedValue(Object.assign(new Error('unavailable'), { name: 'AuditUnavailable' })) });
    await expect(scheduled.runNow('operator')).rejects.toMatchObject({ name: 'AuditUnavailable' });
  });

  it('says one runs already when another instance holds the lock', async () => {
    await expect(make({ underLock: jest.fn().mockResolvedValue({ locked: false }) }).runNow('operator')).resolves.toBe(false);
  });

  it('refuses at once while the instance stops', async () => {
    const underLock = jest.fn();
    const stopping = new Stopping();
    stopping.begin();
    await expect(make({ underLock }, stopping).runNow('operator')).rejects.toBeInstanceOf(InstanceStopping);
    expect(underLock).not.toHaveBeenCalled();
  });
});

describe('scheduleSlot: the period a time falls in', () => {
  it('counts periods from midnight UTC, so that a daily run comes at the same hour every night', () => {
    expect(scheduleSlot(new Date('2027-03-28T00:00:00Z'), 24)).toEqual(new Date('2027-03-28T00:00:00Z'));
    expect(scheduleSlot(new Date('2027-03-28T23:59:59.999Z'), 24)).toEqual(new Date('2027-03-28T00:00:00Z'));
    expect(scheduleSlot(new Date('2027-03-28T13:10:00Z'), 6)).toEqual(new Date('2027-03-28T12:00:00Z'));
    expect(scheduleSlot(new Date('2027-03-28T13:10:00Z'), 1)).toEqual(new Date('2027-03-28T13:00:00Z'));
  });
});

describe('scheduledRunDue: whether the run of a period is due', () => {
  const midnight = new Date('2027-03-28T00:00:00Z');
  const at = (time: string) => new Date(`2027-03-28T${time}Z`);
  it('is not, once a run started in the period', () => {
    expect(scheduledRunDue(at('00:05:00'), midnight, true, true)).toBe(false);
  });
  it('catches a missed period up at once when runs happened before', () => {
    expect(scheduledRunDue(at('18:00:00'), midnight, false, true)).toBe(true);
  });
  it('lets the very first run start only in the first hour of a period', () => {
    expect(scheduledRunDue(at('00:59:59'), midnight, false, false)).toBe(true);
    expect(scheduledRunDue(at('01:00:00'), midnight, false, false)).toBe(false);
    expect(scheduledRunDue(at('15:20:00'), midnight, false, false)).toBe(false);
  });
});
