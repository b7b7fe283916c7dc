import type { ClientBase } from 'pg';
import { verifyRange } from './verify-range';

/**
 * The next page is asked for before the current one is checked: a failure found meanwhile waits for that read to
 * settle, so that the connection is idle again for whoever uses it next (and its failure is nobody's unhandled
 * rejection).
 */
describe('verifyRange reading ahead', () => {
  it('lets the page asked for ahead settle before answering a failure found in the page before', async () => {
    const calls: string[] = [];
    let settled = false;
    const client = {
      query: jest.fn(async (query: string | { text: string; values: unknown[] }) => {
        const text = typeof query === 'string' ? query : query.text;
        calls.push(text.includes('audit_checkpoints') ? 'checkpoints' : `page after ${(query as { values: unknown[] }).values[0]}`);
        if (text.includes('audit_checkpoints')) return { rows: [] };
        if ((query as { values: unknown[] }).values[0] === 0) {
          // The range's first page starts at seq 2: a gap before it, found on its first row.
          return { rows: Array.from({ length: 5000 }, (_, i) => [i + 2, ...new Array(20).fill(null)]) };
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        settled = true;
        throw new Error('Connection terminated');
      }),
    } as unknown as ClientBase;
    const result = await verifyRange(client, { fromSeq: 1, toSeq: 20_000, publicKeys: {} });
    expect(result).toMatchObject({ ok: false, first_bad_seq: 1, problem: 'seq gap before 2' });
    expect(calls).toEqual(['checkpoints', 'page after 0', 'page after 5001']);
    expect(settled).toBe(true);
  });
});
