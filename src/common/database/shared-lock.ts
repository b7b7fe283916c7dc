import type { PoolClient } from 'pg';

/** One session of the instance holding an advisory lock shared, and how many use it. */
interface Holding { session: Promise<PoolClient>; users: number; failed: boolean; onError?: () => void }

/** Database.holdShared: the lock `key` held shared on one session while anyone of this instance needs it. */
export class SharedLock {
  private current?: Holding;

  constructor(private readonly connect: () => Promise<PoolClient>, private readonly key: number) {}

  async hold(): Promise<() => Promise<void>> {
    const holding = this.current ??= this.take();
    holding.users++;
    try {
      await holding.session;
    } catch (error) {
      this.leave(holding);
      throw error;
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      if (this.leave(holding)) await this.giveBack(holding);
    };
  }

  /** True when `holding` has no user left (and is no longer the one newcomers join). */
  private leave(holding: Holding): boolean {
    if (--holding.users > 0) return false;
    if (this.current === holding) this.current = undefined;
    return true;
  }

  private take(): Holding {
    const holding = { users: 0, failed: false } as Holding;
    holding.session = this.lockedSession(holding);
    // Nobody may be awaiting it yet when it fails: each user awaits it in hold().
    holding.session.catch(() => undefined);
    return holding;
  }

  private async lockedSession(holding: Holding): Promise<PoolClient> {
    const session = await this.connect();
    // A connection lost while held has lost the lock too: newcomers take it again on another session.
    holding.onError = () => {
      holding.failed = true;
      if (this.current === holding) this.current = undefined;
    };
    session.on('error', holding.onError);
    try {
      await session.query('SELECT pg_advisory_lock_shared($1)', [this.key]);
    } catch (error) {
      session.removeListener('error', holding.onError);
      session.release(true);
      throw error;
    }
    return session;
  }

  private async giveBack(holding: Holding): Promise<void> {
    const session = await holding.session;
    let broken = holding.failed;
    try {
      if (!broken) await session.query('SELECT pg_advisory_unlock_shared($1)', [this.key]);
    } catch {
      broken = true;
    } finally {
      session.removeListener('error', holding.onError!);
      session.release(broken);
    }
  }
}
