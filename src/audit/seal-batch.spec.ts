import { ClientBase, Query } from 'pg';
import { int8Array, textArray, uuidArray } from '../common/database/binary-array';
import { chainHash, ENTRY_FIELDS, GENESIS_HASH } from './chain';
import { readAndChain } from './seal-batch';

const PARTNER = '0b8f1c44-5555-4555-8555-000000000005';

/** A pending entry as the sealer's read gives it: its columns in ENTRY_FIELDS order, the entry id first. */
function row(id: string, scopes: string | null, agent: string | null): unknown[] {
  const values: Record<string, unknown> = { seq: id, occurred_at: '2026-12-04T10:00:00.000Z', kind: 'lookup', partner_id: PARTNER,
    agent, subject_ref: `ref-${id}`, scopes_returned: scopes, outcome: 'ok', http_status: 200 };
  return ENTRY_FIELDS.map((field) => values[field] ?? null);
}

/**
 * The driver's side, stubbed: the read's statement answers these rows one 'row' event at a time, then ends — or
 * fails after them. What the sealer's read does with each is the real code.
 */
function client(rows: unknown[][], failure?: Error): { client: ClientBase; submitted: Query[] } {
  const submitted: Query[] = [];
  const stub = {
    query(query: Query) {
      submitted.push(query);
      setImmediate(() => {
        for (const values of rows) query.emit('row', [...values]);
        if (failure) query.emit('error', failure);
        else query.emit('end');
      });
      return query;
    },
  };
  return { client: stub as unknown as ClientBase, submitted };
}

describe('readAndChain (the sealer\'s read of a batch)', () => {
  const head = { seq: 41, hash: GENESIS_HASH.replace(/^0/, 'a') };

  it('chains the rows as they arrive onto the head, and hands over the five columns the seal writes', async () => {
    const rows = [row('7', '["droits.ouverture"]', 'agent-1'), row('9', null, null), row('12', '[]', 'agent "2"')];
    const { client: stub, submitted } = client(rows);
    const batch = await readAndChain(stub, '5', head);

    // The same chain as hashing each entry, with its seq in place of its id and its scopes as a list.
    let hash = head.hash;
    const hashes = rows.map((values, i) => {
      const entry = [...values];
      entry[0] = head.seq + 1 + i;
      const scopes = ENTRY_FIELDS.indexOf('scopes_returned');
      entry[scopes] = entry[scopes] === null ? null : JSON.parse(entry[scopes] as string);
      return (hash = chainHash(hash, entry));
    });
    expect(batch).toMatchObject({ count: 3, lastId: '12', firstSeq: 42, firstPrev: head.hash, head: { seq: 44, hash: hashes[2] } });
    expect(batch.ids).toEqual(int8Array(['7', '9', '12']));
    expect(batch.hashes).toEqual(textArray(hashes));
    expect(batch.partners).toEqual(uuidArray([PARTNER, PARTNER, PARTNER]));
    expect(batch.subjects).toEqual(textArray(['ref-7', 'ref-9', 'ref-12']));
    expect(batch.agents).toEqual(textArray(['agent-1', null as unknown as string, 'agent "2"']));
    // One statement, reading after the id given, never prepared (planned on each call: see readAndChain).
    expect(submitted).toHaveLength(1);
    const statement = submitted[0] as unknown as { values: unknown[]; name?: string };
    expect(statement.values).toEqual([2000, '5']);
    expect(statement.name).toBeUndefined();
  });

  it('answers an empty batch when nothing is pending, leaving the head as it was', async () => {
    const batch = await readAndChain(client([]).client, '0', head);
    expect(batch).toMatchObject({ count: 0, lastId: '', firstSeq: 42, head });
  });

  it('fails when the statement fails, even after some rows came', async () => {
    const failure = new Error('terminating connection due to administrator command');
    await expect(readAndChain(client([row('7', null, 'a')], failure).client, '0', head)).rejects.toBe(failure);
  });

  it('fails with the first row it cannot chain, once the statement has ended (the rows after it are left)', async () => {
    const rows = [row('7', null, 'a'), row('8', '["not closed"', 'b'), row('9', '{', 'c')];
    const first = (() => {
      try {
        return JSON.parse('["not closed"');
      } catch (error) {
        return error as SyntaxError;
      }
    })();
    const read = readAndChain(client(rows).client, '0', head);
    await expect(read).rejects.toThrow(SyntaxError);
    await expect(read).rejects.toThrow(first.message);
  });
});
