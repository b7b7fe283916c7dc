import { AuditSealer } from '../audit/audit-sealer';
import { Database } from '../common/database/database';
import { HealthController } from './health.controller';

describe('HealthController', () => {
  const db = (reachable: boolean) => ({ isReachable: async () => reachable }) as unknown as Database;
  const sealer = (broken?: { problem: string }) => ({ chainBroken: () => broken }) as unknown as AuditSealer;

  it('answers ready while the database is reachable and the chain intact', async () => {
    const health = new HealthController(db(true), sealer());
    await expect(health.ready()).resolves.toEqual({ status: 'ok', database: 'ok' });
  });

  it('answers 503 not_ready when the database is not reachable', async () => {
    const health = new HealthController(db(false), sealer());
    await expect(health.ready()).rejects.toMatchObject({ status: 503, code: 'not_ready' });
  });

  it('answers 503 audit_chain_broken once the sealer found the chain altered behind its back', async () => {
    const health = new HealthController(db(true), sealer({ problem: 'checkpoints after seq 9 were removed' }));
    await expect(health.ready()).rejects.toMatchObject({ status: 503, code: 'audit_chain_broken',
      detail: expect.stringContaining('checkpoints after seq 9 were removed') });
  });
});
