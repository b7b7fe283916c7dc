import type { HttpAdapterHost } from '@nestjs/core';
import { ManualClock } from '../common/clock';
import { loadConfig } from '../common/config/config';
import { Database } from '../common/database/database';
import { SlaRecorder } from './sla-recorder';

describe('SlaRecorder', () => {
  it('does not answer a flush with one already under way: what was counted before the call is written when it resolves', async () => {
    const written: number[] = []; // probes_ok of each minute row written
    const held: (() => void)[] = [];
    let hold = true;
    const db = {
      transaction: async (work: (tx: unknown) => Promise<void>) => {
        if (hold) await new Promise<void>((resolve) => held.push(resolve));
        await work({});
      },
      rows: async (_sql: string, params: unknown[]) => {
        if (params.length === 9) written.push(params[5] as number);
        return [];
      },
    } as unknown as Database;
    const clock = new ManualClock(new Date('2027-03-10T10:00:30Z'));
    const recorder = new SlaRecorder(db, clock, loadConfig({}), {} as HttpAdapterHost);
    recorder.recordProbe(clock.now(), true, false);
    const timerFlush = recorder.flush(); // the periodic flush, under way with one probe
    recorder.recordProbe(clock.now(), true, false);
    recorder.recordProbe(clock.now(), true, false);
    hold = false;
    const atStop = recorder.flush(); // the last flush, as the gateway stops
    held.shift()!();
    await timerFlush;
    await atStop;
    expect(written).toEqual([1, 2]);
  });
});
