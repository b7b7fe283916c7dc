import { Logger } from '@nestjs/common';
import { AppConfig } from '../common/config/config';
import { ManualClock } from '../common/clock';
import { AuditRepository } from './audit.repository';
import { Stopping } from '../common/stopping';
import { AuditService, EXPORT_PAGES_AT_ONCE, ExportStalled } from './audit.service';
import { CheckpointKeys } from './checkpoint-keys';

/**
 * Exports read their pages through the pool the lookups' audit appends use: however many run at once, at most
 * EXPORT_PAGES_AT_ONCE page reads are in flight (the repository is stubbed, to count them).
 */
describe('exports of the trail, several at once', () => {
  const ENTRIES = 12_345; // three pages of 5,000 and a last short one
  let inFlight = 0;
  let mostInFlight = 0;
  let trailHeld = 0;
  const repository = {
    holdTrail: async () => {
      trailHeld++;
      return async () => { trailHeld--; };
    },
    anchor: async () => undefined,
    cursorOf: (_filter: unknown, row: { seq: number }) => row.seq,
    checkpoints: async () => [],
    page: async (_filter: unknown, after: number, limit: number) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      const rows = [];
      for (let seq = after + 1; seq <= Math.min(ENTRIES, after + limit); seq++) {
        rows.push({ seq, entry_id: seq, occurred_at: new Date(Date.UTC(2026, 11, 3)), kind: 'lookup', outcome: 'ok', prev_hash: 'p', hash: 'h' });
      }
      return rows;
    },
  } as unknown as AuditRepository;
  const keys = { publicKeys: () => ({}) } as unknown as CheckpointKeys;
  const service = new AuditService(repository, keys, new ManualClock(new Date()), {} as AppConfig, new Stopping());

  const read = async (stream: NodeJS.ReadableStream) => {
    let text = '';
    for await (const chunk of stream) text += chunk;
    return text;
  };

  it(`reads at most ${EXPORT_PAGES_AT_ONCE} pages at once for six exports, each of which still gets all its entries in order`, async () => {
    const exports = await Promise.all(Array.from({ length: 6 }, () => read(service.export({}, 'ndjson'))));
    expect(mostInFlight).toBe(EXPORT_PAGES_AT_ONCE);
    expect(trailHeld).toBe(0);
    for (const text of exports) {
      const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { type: string; seq?: number });
      expect(lines[0].type).toBe('header');
      const seqs = lines.filter((line) => line.type === 'entry').map((line) => line.seq);
      expect(seqs).toHaveLength(ENTRIES);
      expect(seqs.every((seq, i) => seq === i + 1)).toBe(true);
      // Last, what the file holds: a file cut short between two lines lacks it.
      expect(lines[lines.length - 1]).toEqual({ type: 'end', entries: ENTRIES, checkpoints: 0, last_seq: ENTRIES });
    }
  });

  it('ends an export whose client takes nothing for a while, and gives the trail back to the retention purge', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const stream = service.export({}, 'ndjson', { stallMs: 100 });
    const failed = new Promise<Error>((resolve) => stream.on('error', resolve));
    stream.once('data', () => stream.pause());
    expect(await failed).toBeInstanceOf(ExportStalled);
    expect(warnings).toHaveBeenCalledWith('audit export ended: its client took nothing for 0 s (the file it has is cut short)');
    warnings.mockRestore();
    expect(stream.destroyed).toBe(true);
    for (let i = 0; i < 50 && trailHeld > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(trailHeld).toBe(0);
  });

  it('fails an export whose page cannot be read, without its end line, and gives the trail back', async () => {
    const page = repository.page;
    let calls = 0;
    repository.page = (async (...args: Parameters<typeof page>) => {
      if (++calls === 2) throw new Error('connection terminated unexpectedly');
      return page(...args);
    }) as typeof page;
    try {
      const stream = service.export({}, 'ndjson');
      let text = '';
      const failed = new Promise<Error>((resolve) => stream.on('error', resolve));
      stream.on('data', (chunk) => (text += chunk));
      expect((await failed).message).toBe('connection terminated unexpectedly');
      const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { type: string });
      // Whole lines of the first page (sent in chunks of whole lines: the last one may not have gone), none after it.
      const entries = lines.filter((line) => line.type === 'entry');
      expect(entries.length).toBeGreaterThan(4000);
      expect(entries.length).toBeLessThanOrEqual(5000);
      expect(lines.some((line) => line.type === 'end')).toBe(false);
      for (let i = 0; i < 50 && trailHeld > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(trailHeld).toBe(0);
    } finally {
      repository.page = page;
    }
  });

  it('leaves no failure unhandled when its client leaves while the next page is read, and that read then fails', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const page = repository.page;
    let failRead: ((error: Error) => void) | undefined;
    let calls = 0;
    repository.page = (async (...args: Parameters<typeof page>) => {
      if (++calls === 2) return new Promise((_resolve, reject) => (failRead = reject));
      return page(...args);
    }) as typeof page;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      const stream = service.export({}, 'ndjson');
      await new Promise((resolve) => stream.once('data', resolve));
      for (let i = 0; i < 100 && !failRead; i++) await sleep(10);
      expect(failRead).toBeDefined();
      stream.destroy(); // the client left, the first page not all sent, the second being read
      await sleep(20);
      failRead!(new Error('connection terminated unexpectedly'));
      await sleep(50);
      expect(unhandled).toEqual([]);
      for (let i = 0; i < 50 && trailHeld > 0; i++) await sleep(10);
      expect(trailHeld).toBe(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      repository.page = page;
    }
  });

  it('does not end an export whose client reads slowly', async () => {
    const stream = service.export({}, 'ndjson', { stallMs: 300 });
    let chunks = 0;
    let text = '';
    for await (const chunk of stream) {
      text += chunk;
      if (++chunks <= 10) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(text.trim().split('\n')).toHaveLength(ENTRIES + 2);
    expect(trailHeld).toBe(0);
  });
});
