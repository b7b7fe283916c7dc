import { EventEmitter } from 'node:events';
import type { PoolClient } from 'pg';
import { SharedLock } from './shared-lock';

/** A pooled session that records its statements and how it was given back. */
function fakeSession(failOn?: RegExp) {
  const session = Object.assign(new EventEmitter(), {
    statements: [] as string[],
    released: undefined as boolean | undefined,
    query: jest.fn(async (sql: string) => {
      session.statements.push(sql);
      if (failOn?.test(sql)) throw new Error('connection terminated');
      return { rows: [] };
    }),
    release: jest.fn((broken?: boolean) => { session.released = !!broken; }),
  });
  return session;
}
type FakeSession = ReturnType<typeof fakeSession>;

function lockOn(...sessions: (FakeSession | Error)[]) {
  const connect = jest.fn(async () => {
    const next = sessions.shift();
    if (!next) throw new Error('no session left');
    if (next instanceof Error) throw next;
    return next as unknown as PoolClient;
  });
  return { lock: new SharedLock(connect, 42), connect };
}

describe('SharedLock', () => {
  it('holds the lock on one session for every holder at once, and gives it back when the last one leaves', async () => {
    const session = fakeSession();
    const { lock, connect } = lockOn(session);
    const [a, b] = await Promise.all([lock.hold(), lock.hold()]);
    expect(connect).toHaveBeenCalledTimes(1);
    expect(session.statements).toEqual(['SELECT pg_advisory_lock_shared($1)']);
    await a();
    await a(); // leaving twice counts once
    expect(session.release).not.toHaveBeenCalled();
    await b();
    expect(session.statements).toEqual(['SELECT pg_advisory_lock_shared($1)', 'SELECT pg_advisory_unlock_shared($1)']);
    expect(session.released).toBe(false);
    expect(session.listenerCount('error')).toBe(0);
  });

  it('takes the lock afresh for the next holder when no connection could be had', async () => {
    const session = fakeSession();
    const { lock } = lockOn(new Error('too many clients'), session);
    await expect(lock.hold()).rejects.toThrow('too many clients');
    const release = await lock.hold();
    await release();
    expect(session.released).toBe(false);
  });

  it('drops a session on which the lock could not be taken, and the next holder tries another', async () => {
    const broken = fakeSession(/lock_shared/);
    const healthy = fakeSession();
    const { lock } = lockOn(broken, healthy);
    await expect(lock.hold()).rejects.toThrow('connection terminated');
    expect(broken.released).toBe(true);
    expect(broken.listenerCount('error')).toBe(0);
    await (await lock.hold())();
    expect(healthy.released).toBe(false);
  });

  it('after a connection error, newcomers take the lock on another session; the lost one is dropped when its holders leave', async () => {
    const lost = fakeSession();
    const next = fakeSession();
    const { lock } = lockOn(lost, next);
    const early = await lock.hold();
    lost.emit('error', new Error('terminating connection due to administrator command'));
    const late = await lock.hold();
    expect(next.statements).toEqual(['SELECT pg_advisory_lock_shared($1)']);
    await early();
    expect(lost.statements).not.toContain('SELECT pg_advisory_unlock_shared($1)');
    expect(lost.released).toBe(true);
    expect(next.release).not.toHaveBeenCalled();
    await late();
    expect(next.released).toBe(false);
  });

  it('drops the session when giving the lock back fails', async () => {
    const session = fakeSession(/unlock/);
    const { lock } = lockOn(session);
    await (await lock.hold())();
    expect(session.released).toBe(true);
  });
});
