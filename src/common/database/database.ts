import { Injectable } from '@nestjs/common';
import { Pool, PoolClient, QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { SharedLock } from './shared-lock';

/** A transaction in progress; repositories take one as their last argument to join it. */
export type Transaction = EntityManager;

/**
 * A thin, typed face over TypeORM's DataSource: parameterised SQL in, rows out. Repositories use it so
 * that every query is visible and reviewable in one place.
 */
@Injectable()
export class Database {
  private readonly beforeClose: (() => Promise<void>)[] = [];
  private readonly sharedLocks = new Map<number, SharedLock>();

  constructor(readonly dataSource: DataSource) {}

  /**
   * Work to do with the database once the HTTP server has stopped and its last requests are answered, just before
   * the connections close (counters accumulated in memory, say): shutdown hooks of different modules run in no
   * order one can rely on, so whoever must write last registers here.
   */
  onBeforeClose(work: () => Promise<void>): void {
    this.beforeClose.push(work);
  }

  async runBeforeClose(): Promise<void> {
    for (const work of this.beforeClose.splice(0)) await work();
  }

  async rows<T>(sql: string, params: unknown[] = [], tx?: Transaction): Promise<T[]> {
    const result = await (tx ?? this.dataSource).query(sql, params);
    // TypeORM answers UPDATE and DELETE with [rows, rowCount]; rows are objects, never arrays.
    if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
      return result[0] as T[];
    }
    return result as T[];
  }

  async one<T>(sql: string, params: unknown[] = [], tx?: Transaction): Promise<T | undefined> {
    const rows = await this.rows<T>(sql, params, tx);
    return rows[0];
  }

  /**
   * A statement straight on the driver's pool, without TypeORM's query runner: for the few hot statements
   * (the audit group commit) where its per-query bookkeeping shows in profiles. Prepared under `name` on each
   * connection the first time it runs there (parsed and planned once per connection, not per call).
   */
  async direct<T>(name: string, sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool().query<T & QueryResultRow>({ name, text: sql, values: params })).rows;
  }

  /**
   * A connection of the pool held by the caller until it calls release() (release(true) if it may be broken):
   * for session-level work such as the sealer's advisory lock, and array-mode reads.
   */
  async session(): Promise<PoolClient> {
    const client = await this.pool().connect();
    // pg-pool stops listening for a client's errors while it is checked out: a server that goes away between two
    // queries (a restart, a failover: FATAL 57P01) would emit an 'error' nobody handles and crash the process. Kept
    // here, the error makes the release discard the connection instead.
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    const release = client.release.bind(client);
    client.release = (destroy?: boolean | Error) => {
      client.removeListener('error', onError);
      return release(destroy || broken);
    };
    return client;
  }

  /**
   * Runs `work` on one session holding the session-level advisory lock `key` for all of it (what must run on one
   * instance at a time: the sealer, the scheduled verification); `{ locked: false }` at once, without running it,
   * while another session holds the lock. A connection that failed is dropped, and its lock with it (the session
   * also drops itself on a connection error: Database.session).
   */
  async underLock<T>(key: number, work: (session: PoolClient) => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    const session = await this.session();
    // The session is dropped when taking or giving back the lock failed (the connection is gone, or cannot be
    // trusted), not when the work failed.
    let broken = true;
    try {
      const { rows: [{ locked }] } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
      broken = false;
      if (!locked) return { locked: false };
      try {
        return { locked: true, value: await work(session) };
      } finally {
        broken = true;
        await session.query('SELECT pg_advisory_unlock($1)', [key]);
        broken = false;
      }
    } finally {
      session.release(broken);
    }
  }

  /**
   * Runs `work` while this instance holds the advisory lock `key` shared (waiting for an exclusive holder to finish):
   * what others may run alongside, but not alongside whoever takes the lock exclusively.
   */
  async underSharedLock<T>(key: number, work: () => Promise<T>): Promise<T> {
    const release = await this.holdShared(key);
    try {
      return await work();
    } finally {
      await release();
    }
  }

  /**
   * Holds the advisory lock `key` shared until the function returned is called: for work that is not one call (a
   * stream read at its client's pace). However many hold it at once, the instance holds it on one session, given
   * back when the last one leaves; a session that failed is dropped and the next holder takes the lock afresh.
   */
  holdShared(key: number): Promise<() => Promise<void>> {
    let lock = this.sharedLocks.get(key);
    if (!lock) this.sharedLocks.set(key, (lock = new SharedLock(() => this.session(), key)));
    return lock.hold();
  }

  /** The driver's pg pool under TypeORM's PostgreSQL driver. */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async isReachable(): Promise<boolean> {
    try {
      await this.dataSource.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }
}
