import { Metrics } from '../common/metrics';
import { AuditQueue, NewAuditEntry } from './audit-queue';
import { AuditUnavailable } from '../common/errors/domain-errors';
import { AuditWriter } from './audit-writer';

const entry = (request_id: string): NewAuditEntry => ({ occurred_at: new Date(), kind: 'lookup', outcome: 'ok', request_id });

/** A queue whose inserts complete when the test says so: the batches the writer forms, in order. */
function stubQueue() {
  const calls: { ids: string[]; finish: (error?: Error) => void }[] = [];
  const queue = {
    insert: (entries: NewAuditEntry[]) => new Promise<void>((resolve, reject) => {
      calls.push({ ids: entries.map((e) => e.request_id!), finish: (error) => (error ? reject(error) : resolve()) });
    }),
  } as unknown as AuditQueue;
  return { queue, calls };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('AuditWriter (group commit)', () => {
  it('writes the entries handed over in one event-loop turn with one INSERT, and releases them once it commits', async () => {
    const { queue, calls } = stubQueue();
    const writer = new AuditWriter(queue, new Metrics());
    let released = 0;
    const appended = ['a', 'b', 'c'].map((id) => writer.append(entry(id)).then(() => released++));
    await turn();
    expect(calls.map((c) => c.ids)).toEqual([['a', 'b', 'c']]);
    expect(released).toBe(0); // not before the commit
    calls[0].finish();
    await Promise.all(appended);
    expect(released).toBe(3);
  });

  it('keeps two INSERTs in flight at most; what arrives meanwhile goes in the next one', async () => {
    const { queue, calls } = stubQueue();
    const writer = new AuditWriter(queue, new Metrics());
    const first = writer.append(entry('a'));
    await turn();
    const second = writer.append(entry('b'));
    await turn();
    const later = [writer.append(entry('c')), writer.append(entry('d'))];
    await turn();
    expect(calls.map((c) => c.ids)).toEqual([['a'], ['b']]); // c and d wait for a free slot
    calls[0].finish();
    await first;
    await turn();
    expect(calls.map((c) => c.ids)).toEqual([['a'], ['b'], ['c', 'd']]);
    calls[1].finish();
    calls[2].finish();
    await Promise.all([second, ...later]);
  });

  it('rejects every entry of a failed INSERT with AuditUnavailable, and goes on with the next ones', async () => {
    const { queue, calls } = stubQueue();
    const writer = new AuditWriter(queue, new Metrics());
    const failed = [writer.append(entry('a')), writer.append(entry('b'))];
    await turn();
    calls[0].finish(Object.assign(new Error('disk full'), { code: '53100' }));
    for (const append of failed) await expect(append).rejects.toBeInstanceOf(AuditUnavailable);
    const next = writer.append(entry('c'));
    await turn();
    calls[1].finish();
    await expect(next).resolves.toBeUndefined();
    expect(calls.map((c) => c.ids)).toEqual([['a', 'b'], ['c']]);
  });
});
