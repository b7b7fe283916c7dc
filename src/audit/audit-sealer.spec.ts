import { Clock } from '../common/clock';
import { AppConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { Metrics } from '../common/metrics';
import { AuditSealer } from './audit-sealer';
import { CheckpointKeys } from './checkpoint-keys';

describe('AuditSealer scheduling', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  /** A sealer whose runs seal what the test says, recording when each run started. */
  function sealer(results: (number | Error)[]) {
    const config = { audit: { sealIntervalMs: 50 } } as AppConfig;
    const instance = new AuditSealer({} as Database, {} as CheckpointKeys, new Clock(), config, new Metrics());
    const startedAt: number[] = [];
    jest.spyOn(instance, 'sealPending').mockImplementation(async () => {
      startedAt.push(Date.now());
      const result = results.shift() ?? 0;
      if (result instanceof Error) throw result;
      return result;
    });
    return { instance, startedAt };
  }
  const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]);

  it('runs every interval while there is something to seal, backs off to a second when idle, and comes back at once', async () => {
    const { instance, startedAt } = sealer([5, 5, 0, 0, 0, 0, 0, 0, 3, 3]);
    const start = Date.now();
    instance.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(50 + 50 + 50 + 100 + 200 + 400 + 800 + 1000 + 1000 + 50);
    expect(startedAt[0] - start).toBe(50);
    expect(gaps(startedAt)).toEqual([50, 50, 100, 200, 400, 800, 1000, 1000, 50]);
    await instance.onModuleDestroy();
  });

  it('backs off after a failed run as after an idle one (a database outage is not knocked at 20 times a second), and stops for good when the module is destroyed', async () => {
    const { instance, startedAt } = sealer([0, new Error('connection lost'), new Error('connection lost'), 2, 1]);
    instance.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(50 + 100 + 200 + 400 + 50);
    expect(gaps(startedAt)).toEqual([100, 200, 400, 50]);
    await instance.onModuleDestroy();
    const runs = startedAt.length;
    await jest.advanceTimersByTimeAsync(5000);
    expect(startedAt).toHaveLength(runs);
  });
});
