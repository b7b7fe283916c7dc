import { Database } from '../common/database/database';
import { HealthController } from './health.controller';

describe('HealthController', () => {
  it('answers ready while the database is reachable', async () => {
    const health = new HealthController({ isReachable: async () => true } as unknown as Database);
    await expect(health.ready()).resolves.toEqual({ status: 'ok', database: 'ok' });
  });

  it('answers 503 not_ready when the database is not reachable', async () => {
    const health = new HealthController({ isReachable: async () => false } as unknown as Database);
    await expect(health.ready()).rejects.toMatchObject({ status: 503, code: 'not_ready' });
  });
});
