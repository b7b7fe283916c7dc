import { generateKeyPairSync, sign } from 'node:crypto';
import { AuditEntry, canonical, chainHash, checkpointPayload, exportEntryLine, exportLineHashed, GENESIS_HASH, SealedEntry, verifier } from './chain';

function chain(count: number): SealedEntry[] {
  const entries: SealedEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const entry: AuditEntry = { seq, occurred_at: new Date(Date.UTC(2026, 10, 23, 12, 0, seq)), kind: 'lookup', partner_id: 'p',
      agent: `agent-${seq}`, outcome: 'ok', http_status: 200, scopes_returned: ['droits.c2s'] };
    const hash = chainHash(prev, entry);
    entries.push({ ...entry, prev_hash: prev, hash });
    prev = hash;
  }
  return entries;
}

function verify(entries: SealedEntry[], options = {}) {
  const v = verifier({ startHash: GENESIS_HASH, ...options });
  entries.forEach((e) => v.entry(e));
  return v;
}

describe('an export\'s entry line', () => {
  const entry: AuditEntry = { seq: 42, occurred_at: new Date(Date.UTC(2026, 11, 4, 6, 0, 0, 7)), kind: 'action', outcome: 'ok',
    agent: 'Agnès "la" \\ cheffe\u2028', object: 'dossier\n12', detail: { z: [1, { y: 'é', b: null }], a: 'x' }, http_status: 200,
    scopes_returned: ['droits.c2s'], upstream_ms: 12 };
  const prev = 'ab'.repeat(32);
  const sealed: SealedEntry = { ...entry, prev_hash: prev, hash: chainHash(prev, entry) };

  it('holds the entry\'s canonical text as it is, and parses as the entry with its two hashes', () => {
    const line = exportEntryLine(sealed);
    expect(line).toBe(`{"type":"entry",${canonical(entry).slice(1, -1)},"prev_hash":"${prev}","hash":"${sealed.hash}"}`);
    expect(JSON.parse(line)).toEqual({ type: 'entry', ...JSON.parse(canonical(entry)), prev_hash: prev, hash: sealed.hash });
  });

  it('verifies over its own text when its hash holds, and leaves any other line to be parsed', () => {
    const line = exportEntryLine(sealed);
    expect(exportLineHashed(line)).toEqual({ seq: 42, prev_hash: prev, hash: sealed.hash });
    expect(exportLineHashed(line.replace('dossier', 'Dossier'))).toBeUndefined();
    expect(exportLineHashed(exportEntryLine({ ...sealed, hash: 'cd'.repeat(32) }))).toBeUndefined();
    expect(exportLineHashed(line.replace('{"type":"entry",', '{"type":"entry", '))).toBeUndefined();
    expect(exportLineHashed(`${line} `)).toBeUndefined();
  });
});

describe('audit chain', () => {
  it('encodes every field, in a fixed order, with nulls for absent values and sorted detail keys', () => {
    const text = canonical({ seq: 1, occurred_at: '2026-11-23T12:00:00.000Z', kind: 'action', outcome: 'ok', detail: { b: 1, a: { d: 2, c: 3 } } });
    expect(text).toBe('{"seq":1,"occurred_at":"2026-11-23T12:00:00.000Z","kind":"action","partner_id":null,"recipient":null,'
      + '"agent":null,"context":null,"object":null,"operator_id":null,"action":null,"target":null,"detail":{"a":{"c":3,"d":2},"b":1},'
      + '"subject_ref":null,"scopes_returned":null,"outcome":"ok","http_status":null,"request_id":null,"upstream_ms":null}');
  });

  it('encodes every string exactly as JSON.stringify does (the plain-string shortcut included): each UTF-16 code unit, alone and in company', () => {
    const expected = (agent: string) => `{"seq":1,"occurred_at":"2026-11-23T12:00:00.000Z","kind":"lookup","partner_id":null,"recipient":null,`
      + `"agent":${JSON.stringify(agent)},"context":null,"object":null,"operator_id":null,"action":null,"target":null,"detail":null,`
      + '"subject_ref":null,"scopes_returned":null,"outcome":"ok","http_status":null,"request_id":null,"upstream_ms":null}';
    const samples: string[] = ['', 'agent-7', 'Jean "Jo" Dupont', 'C:\\dossier', 'é', '😀', 'a\u007fb', 'tab\there', 'x\u2028y'];
    for (let unit = 0; unit <= 0xffff; unit++) samples.push(String.fromCharCode(unit), `abc${String.fromCharCode(unit)}def`);
    for (const agent of samples) {
      const text = canonical({ seq: 1, occurred_at: '2026-11-23T12:00:00.000Z', kind: 'lookup', outcome: 'ok', agent });
      if (text !== expected(agent)) throw new Error(`agent ${JSON.stringify(agent)} encoded as ${text}`);
    }
  });

  it('encodes the same entry the same way whatever its source (Date or string, number or string seq)', () => {
    const a = canonical({ seq: 7, occurred_at: new Date('2026-11-23T12:00:00Z'), kind: 'lookup', outcome: 'ok' });
    const b = canonical({ seq: '7' as unknown as number, occurred_at: '2026-11-23T13:00:00+01:00', kind: 'lookup', outcome: 'ok' });
    expect(a).toBe(b);
  });

  it('verifies an intact chain', () => {
    expect(verify(chain(50)).result()).toEqual({ ok: true, checked: 50, checkpoints_checked: 0 });
  });

  it('names the entry whose field was changed', () => {
    const entries = chain(20);
    entries[9] = { ...entries[9], agent: 'someone-else' };
    expect(verify(entries).result()).toMatchObject({ ok: false, first_bad_seq: 10, problem: 'hash does not match the entry' });
  });

  it('names the place of a deleted entry', () => {
    const entries = chain(20);
    entries.splice(4, 1);
    expect(verify(entries).result()).toMatchObject({ ok: false, first_bad_seq: 5 });
  });

  it('detects two entries swapped', () => {
    const entries = chain(20);
    [entries[6], entries[7]] = [entries[7], entries[6]];
    expect(verify(entries).result()).toMatchObject({ ok: false, first_bad_seq: 7 });
  });

  it('detects a rewritten chain that starts from another hash', () => {
    const entries = chain(5);
    const v = verifier({ startHash: 'f'.repeat(64) });
    entries.forEach((e) => v.entry(e));
    expect(v.result()).toMatchObject({ ok: false, first_bad_seq: 1 });
  });

  it('checks checkpoint signatures and hashes', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const entries = chain(10);
    const at = '2026-11-23T12:01:00.000Z';
    const good = { seq: 10, hash: entries[9].hash, at, key_id: 'k', signature: sign(null, Buffer.from(checkpointPayload({ seq: 10, hash: entries[9].hash, at })), privateKey).toString('base64url') };
    const v = verify(entries, { publicKey });
    v.checkpoint(good);
    expect(v.result()).toMatchObject({ ok: true, checkpoints_checked: 1 });

    const forged = verify(entries, { publicKey });
    forged.checkpoint({ ...good, hash: entries[4].hash });
    expect(forged.result()).toMatchObject({ ok: false, first_bad_seq: 10, problem: 'checkpoint signature is invalid' });

    const { privateKey: otherKey } = generateKeyPairSync('ed25519');
    const wrongKey = verify(entries, { publicKey });
    wrongKey.checkpoint({ ...good, signature: sign(null, Buffer.from(checkpointPayload(good)), otherKey).toString('base64url') });
    expect(wrongKey.result()).toMatchObject({ ok: false, problem: 'checkpoint signature is invalid' });

    // A validly signed checkpoint of another chain: the signature holds, the hash does not match.
    const otherChain = { seq: 10, hash: 'b'.repeat(64), at, key_id: 'k' };
    const mismatch = verify(entries, { publicKey });
    mismatch.checkpoint({ ...otherChain, signature: sign(null, Buffer.from(checkpointPayload(otherChain)), privateKey).toString('base64url') });
    expect(mismatch.result()).toMatchObject({ ok: false, first_bad_seq: 10, problem: 'checkpoint hash does not match the chain' });
  });

  it('refuses a checkpoint out of place: fed before its entry, or after a later one; one beyond the last entry is only signature-checked', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const entries = chain(10);
    const signed = (seq: number) => {
      const payload = { seq, hash: entries[seq - 1].hash, at: '2026-11-23T12:01:00.000Z' };
      return { ...payload, key_id: 'k', signature: sign(null, Buffer.from(checkpointPayload(payload)), privateKey).toString('base64url') };
    };
    const early = verifier({ startHash: GENESIS_HASH, publicKey });
    entries.slice(0, 4).forEach((e) => early.entry(e));
    early.checkpoint(signed(5));
    expect(early.failed()).toBe(false);
    early.entry(entries[4]);
    expect(early.result()).toMatchObject({ ok: false, checked: 5, first_bad_seq: 5, problem: 'checkpoint out of place: before the entry it seals' });

    const late = verifier({ startHash: GENESIS_HASH, publicKey });
    entries.slice(0, 6).forEach((e) => late.entry(e));
    late.checkpoint(signed(5));
    expect(late.result()).toMatchObject({ ok: false, first_bad_seq: 5, problem: 'checkpoint out of place: after a later entry' });

    const end = verifier({ startHash: GENESIS_HASH, publicKey });
    entries.slice(0, 6).forEach((e) => end.entry(e));
    end.checkpoint(signed(9));
    expect(end.result()).toEqual({ ok: true, checked: 6, checkpoints_checked: 1 });
  });
});
