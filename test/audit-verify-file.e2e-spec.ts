import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditEntry, chainHash, Checkpoint, checkpointDigest, checkpointPayload, ENTRY_FIELDS, EXPORT_FORMAT, exportLineHashed, GENESIS_HASH } from '../src/audit/chain';
import { SavedCheckpoint, verifyExportFile } from '../src/audit/verify-file';
import { tempFolder } from './support/temp-folder';

const CLI = join(__dirname, '../dist/src/cli/main.js');
const folder = tempFolder('audit-verify-file-');

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const KEY_ID = 'k1';
const SPKI = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

/**
 * An export as the gateway writes it: header, entries, a chained signed checkpoint after every `every` entries, the
 * end line counting them.
 */
function exportLines(count: number, every = 50): { lines: string[]; checkpoints: Checkpoint[] } {
  const lines = [JSON.stringify({ type: 'header', format: EXPORT_FORMAT, contiguous: true, public_keys: { [KEY_ID]: SPKI }, anchor: null,
    filter: { partner: null, from: null, to: null }, end_line: true })];
  const checkpoints: Checkpoint[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const entry: AuditEntry = { seq, occurred_at: new Date(Date.UTC(2026, 10, 23, 12, 0, 0, seq)).toISOString(), kind: 'lookup',
      partner_id: '0b8f1c44-1111-4111-8111-000000000001', recipient: '21690123100011', agent: `agent ${seq % 17} "é"`, context: 'RSA',
      object: `dossier ${seq}`, subject_ref: (seq % 97).toString(16).padStart(64, 'a'), scopes_returned: ['droits.c2s'],
      outcome: 'ok', http_status: 200, request_id: null, upstream_ms: seq % 30, detail: seq % 9 === 0 ? { a: 'x', b: { c: 1, 'é': 2 } } : null };
    const hash = chainHash(prev, entry);
    lines.push(entryLine(entry, prev, hash));
    prev = hash;
    if (seq % every === 0) {
      const payload = { seq, hash, at: new Date(Date.UTC(2026, 10, 23, 13, 0, seq)).toISOString(),
        prev_checkpoint: checkpointDigest(checkpoints[checkpoints.length - 1]) };
      const checkpoint = { ...payload, key_id: KEY_ID, signature: sign(null, Buffer.from(checkpointPayload(payload)), privateKey).toString('base64url') };
      checkpoints.push(checkpoint);
      lines.push(JSON.stringify({ type: 'checkpoint', ...checkpoint }));
    }
  }
  return { lines: ended(lines), checkpoints };
}

/** An entry line as the gateway's export writes it: every field in the chain's order, then prev_hash and hash. */
function entryLine(entry: AuditEntry, prev: string, hash: string): string {
  return JSON.stringify({ type: 'entry', ...Object.fromEntries(ENTRY_FIELDS.map((field) => [field, entry[field] ?? null])), prev_hash: prev, hash });
}

/**
 * The same entry lines laid out otherwise (as exports made before the layout was fixed may be, and as any JSON tool
 * may rewrite them): keys in another order, detail's keys unsorted, spaces. They verify the long way.
 */
function laidOtherwise(all: string[]): string[] {
  return all.map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    if (record.type !== 'entry') return line;
    const detail = record.detail as Record<string, unknown> | null;
    const reversed = Object.fromEntries(Object.entries({ ...record, detail: detail && Object.fromEntries(Object.entries(detail).reverse()) }).reverse());
    return JSON.stringify(reversed, null, 1).replace(/\n/g, '');
  });
}

/** The lines with the end line that counts them (in place of theirs): an export of that much, as the gateway ends it. */
function ended(all: string[]): string[] {
  const records = all.map((line) => JSON.parse(line) as { type: string; seq?: number }).filter((record) => record.type !== 'end');
  const entries = records.filter((record) => record.type === 'entry');
  const end = { type: 'end', entries: entries.length, checkpoints: records.filter((record) => record.type === 'checkpoint').length,
    last_seq: entries.length ? entries[entries.length - 1].seq : null };
  return [...all.filter((line) => !line.startsWith('{"type":"end"')), JSON.stringify(end)];
}

/** The same lines as an export made before end lines existed: no end line, none announced. */
function beforeEndLines(all: string[]): string[] {
  return all.filter((line) => !line.startsWith('{"type":"end"')).map((line, i) => (i === 0 ? line.replace(',"end_line":true', '') : line));
}

function write(name: string, lines: string[]): string {
  const path = join(folder, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** Deterministic pseudo-random positions (a failing case can be replayed). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('verifying an export file in parts', () => {
  // Small, with a checkpoint every 20 entries, so that cuts often fall next to a checkpoint line.
  const { lines, checkpoints } = exportLines(400, 20);
  const saved: SavedCheckpoint[] = [checkpoints[2], checkpoints[9], checkpoints[17]].map((c) => ({ ...c, public_key: SPKI }));

  /** The line index nearest to each cut of the body into `parts` (where the parts' junctions fall). */
  function cutLines(all: string[], parts: number): number[] {
    const offsets: number[] = [];
    let offset = 0;
    for (const line of all) {
      offsets.push(offset);
      offset += Buffer.byteLength(line) + 1;
    }
    const body = offsets[1];
    const step = Math.ceil((offset - body) / parts);
    return Array.from({ length: parts - 1 }, (_, i) => offsets.findIndex((o) => o >= body + (i + 1) * step)).filter((i) => i > 0);
  }

  const mutations: Record<string, (all: string[], at: number) => string[]> = {
    'line removed': (all, at) => all.filter((_, i) => i !== at),
    'line repeated': (all, at) => [...all.slice(0, at + 1), all[at], ...all.slice(at + 1)],
    'two lines swapped': (all, at) => [...all.slice(0, at), all[at + 1], all[at], ...all.slice(at + 2)],
    'object changed': (all, at) => all.map((line, i) => (i === at ? line.replace(/"object":"dossier /, '"object":"dossier X') : line)),
    'prev_hash changed': (all, at) => all.map((line, i) => (i === at ? line.replace(/"prev_hash":"./, '"prev_hash":"f') : line)),
    'not JSON': (all, at) => all.map((line, i) => (i === at ? line.slice(0, -3) : line)),
    'blank line': (all, at) => [...all.slice(0, at), '', ...all.slice(at)],
    'second header': (all, at) => [...all.slice(0, at), all[0], ...all.slice(at)],
  };

  it('finds what a single pass finds, wherever the damage falls relative to the cuts', async () => {
    const next = random(14);
    let compared = 0;
    for (const [name, mutate] of Object.entries(mutations)) {
      for (const parts of [2, 3, 7]) {
        const cuts = cutLines(lines, parts);
        const positions = [...cuts.flatMap((cut) => [cut - 1, cut, cut + 1]), 1 + Math.floor(next() * (lines.length - 3))];
        for (const at of positions.filter((p) => p >= 1 && p < lines.length - 1)) {
          const file = write(`${name.replace(/\W/g, '-')}-${parts}-${at}.ndjson`, mutate(lines, at));
          const single = await verifyExportFile(file, undefined, saved, { parts: 1, worker: null });
          const cut = await verifyExportFile(file, undefined, saved, { parts, worker: null });
          expect({ name, parts, at, ...cut }).toEqual({ name, parts, at, ...single });
          if (name !== 'blank line') expect(single.ok).toBe(false);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(150);
  }, 180_000);

  it('verifies an intact export in any number of parts, with the same counts and saved checkpoints found', async () => {
    const file = write('intact.ndjson', lines);
    const single = await verifyExportFile(file, undefined, saved, { parts: 1, worker: null });
    expect(single).toMatchObject({ ok: true, checked: 400, checkpoints_checked: 20 });
    expect(single.saved_checkpoints!.map((c) => c.status)).toEqual(['matches', 'matches', 'matches']);
    for (const parts of [2, 4, 9]) expect(await verifyExportFile(file, undefined, saved, { parts, worker: null })).toEqual(single);
  });

  it('hashes the entry lines the gateway writes over their own text, and verifies lines laid out otherwise the long way, alike', async () => {
    const entryLines = lines.filter((line) => line.startsWith('{"type":"entry"'));
    // Every line as the gateway writes it takes the fast path; its answer is the line's own seq and hashes.
    expect(entryLines.every((line) => exportLineHashed(line) !== undefined)).toBe(true);
    const first = JSON.parse(entryLines[0]);
    expect(exportLineHashed(entryLines[0])).toEqual({ seq: 1, prev_hash: first.prev_hash, hash: first.hash });
    // Anything else parses the long way: a line changed in any byte, laid out otherwise, cut short.
    const other = laidOtherwise(lines);
    for (const line of [entryLines[8].replace('"dossier 9"', '"dossier 8"'), entryLines[8].replace('"a":"x","b"', '"b":{"c":1,"é":2},"a":"x","c"'),
      other.find((l) => l.includes('"type": "entry"'))!, entryLines[3].slice(0, -1), entryLines[3].replace('"seq":4', '"seq":04')]) {
      expect(exportLineHashed(line)).toBeUndefined();
    }
    // The same answers either way, intact or not.
    const changed = (all: string[]) => all.map((line) => line.replace('"object":"dossier 150"', '"object":"dossier 151"'));
    for (const [name, all] of [['intact', lines], ['changed', changed(lines)]] as const) {
      const fast = await verifyExportFile(write(`${name}-fast.ndjson`, all), undefined, saved, { parts: 1, worker: null });
      for (const parts of [1, 3]) {
        expect(await verifyExportFile(write(`${name}-other.ndjson`, laidOtherwise(all)), undefined, saved, { parts, worker: null })).toEqual(fast);
      }
    }
  });

  it('names an unknown format and a header line after the first, in one part or several', async () => {
    const unknown = write('unknown-format.ndjson', [lines[0].replace(EXPORT_FORMAT, 'autre-format/9'), ...lines.slice(1)]);
    const late = write('late-header.ndjson', [...lines.slice(0, 200), lines[0], ...lines.slice(200)]);
    for (const parts of [1, 3]) {
      expect(await verifyExportFile(unknown, undefined, [], { parts, worker: null })).toMatchObject({ ok: false, problem: 'unknown export format' });
      expect(await verifyExportFile(late, undefined, [], { parts, worker: null }))
        .toMatchObject({ ok: false, problem: 'a header line after the first line' });
    }
  });

  it('catches a rewritten history whose signed checkpoints were moved before their entries (they would escape the comparison)', async () => {
    // Entry 150 forged and every hash after it recomputed, so that the chain links; the checkpoints, signed over
    // the true hashes, each moved one line up, before the entry it seals.
    const forged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    let prev = '';
    for (const record of forged) {
      if (record.type !== 'entry') continue;
      if (record.seq === 150) record.object = 'dossier falsifié';
      if ((record.seq as number) >= 150) {
        record.prev_hash = prev || record.prev_hash;
        const { type: _type, prev_hash: _prev, hash: _hash, ...entry } = record;
        record.hash = chainHash(record.prev_hash as string, entry as unknown as AuditEntry);
      }
      prev = record.hash as string;
    }
    const moved = forged.map((record) => JSON.stringify(record));
    for (let i = 2; i < moved.length; i++) {
      if (forged[i].type === 'checkpoint') [moved[i - 1], moved[i]] = [moved[i], moved[i - 1]];
    }
    const file = write('forged-moved.ndjson', moved);
    const single = await verifyExportFile(file, SPKI, [], { parts: 1, worker: null });
    expect(single).toMatchObject({ ok: false, first_bad_seq: 20, problem: 'checkpoint out of place: before the entry it seals' });
    for (const parts of [2, 5]) expect(await verifyExportFile(file, SPKI, [], { parts, worker: null })).toEqual(single);
    // Left where they were, the same checkpoints name the forged stretch.
    const inPlace = await verifyExportFile(write('forged.ndjson', forged.map((record) => JSON.stringify(record))), SPKI, [], { parts: 1, worker: null });
    expect(inPlace).toMatchObject({ ok: false, first_bad_seq: 160, problem: 'checkpoint hash does not match the chain' });
  });

  it('cuts a large export across worker threads from the command line (audit:verify), and names a tampered entry in any part', () => {
    const big = exportLines(20_000, 1000);
    const file = write('big.ndjson', big.lines);
    expect(statSync(file).size).toBeGreaterThan(8 * 1024 * 1024);
    const run = (path: string) => {
      const result = spawnSync(process.execPath, [CLI, 'audit:verify', path], { encoding: 'utf8' });
      return { code: result.status, result: JSON.parse(result.stdout.trim().split('\n').pop()!) };
    };
    expect(run(file)).toEqual({ code: 0, result: { ok: true, checked: 20_000, checkpoints_checked: 20, contiguous: true,
      signed_through_seq: 20_000, unsigned_entries: 0, complete: true } });
    // Near the end: in the last part, whatever the number of cores.
    const tampered = readFileSync(file, 'utf8').replace('"object":"dossier 19990"', '"object":"dossier 19991"');
    expect(run(write('big-tampered.ndjson', [tampered.trimEnd()]))).toEqual({ code: 1,
      result: { ok: false, checked: 19_990, checkpoints_checked: 19, first_bad_seq: 19_990, problem: 'hash does not match the entry' } });
  }, 120_000);
});

describe('what an export\'s signatures cover', () => {
  // 130 entries, a checkpoint after every 50: entries 101-130 come after the last one.
  const { lines, checkpoints } = exportLines(130, 50);
  const verify = (name: string, all: string[], saved: SavedCheckpoint[] = []) =>
    verifyExportFile(write(name, all), undefined, saved, { parts: 1, worker: null });

  it('says up to which entry a signed checkpoint vouches for the chain, and how many entries after it only link by hash', async () => {
    expect(await verify('tail.ndjson', lines)).toEqual({ ok: true, checked: 130, checkpoints_checked: 2, contiguous: true,
      signed_through_seq: 100, unsigned_entries: 30, complete: true });
    // The tail can be cut off (its end line written again), or rewritten with its hashes recomputed, without a
    // signature noticing: the answer says so rather than vouching for it.
    const cut = ended(lines.slice(0, lines.length - 11));
    expect(await verify('tail-cut.ndjson', cut)).toMatchObject({ ok: true, checked: 120, signed_through_seq: 100, unsigned_entries: 20 });
    const ends = ended(lines.slice(0, lines.findIndex((line) => line.includes('"type":"checkpoint","seq":100')) + 1));
    expect(await verify('ends-on-checkpoint.ndjson', ends)).toMatchObject({ ok: true, checked: 100, signed_through_seq: 100, unsigned_entries: 0 });
    // The same in parts, through the junctions.
    for (const parts of [2, 3]) {
      expect(await verifyExportFile(write('tail-parts.ndjson', lines), undefined, [], { parts, worker: null }))
        .toEqual(await verify('tail-single.ndjson', lines));
    }
  });

  it('counts a checkpoint saved earlier that matches as covering the chain before it, as one in the file', async () => {
    const withoutCheckpoints = ended(lines.filter((line) => !line.includes('"type":"checkpoint"')));
    expect(await verify('no-checkpoints.ndjson', withoutCheckpoints)).toMatchObject({ ok: true, checked: 130, checkpoints_checked: 0,
      signed_through_seq: null, unsigned_entries: 130 });
    expect(await verify('no-checkpoints-saved.ndjson', withoutCheckpoints, [{ ...checkpoints[0], public_key: SPKI }]))
      .toMatchObject({ ok: true, signed_through_seq: 50, unsigned_entries: 80 });
  });

  it('vouches for none of a filtered export\'s entries, each checked on its own (and so for none of a file whose header was made to say so)', async () => {
    const filtered = [lines[0].replace('"contiguous":true', '"contiguous":false'), ...lines.slice(1)];
    expect(await verify('filtered.ndjson', filtered)).toEqual({ ok: true, checked: 130, checkpoints_checked: 2, contiguous: false,
      signed_through_seq: null, unsigned_entries: 130, complete: true });
    // Rewritten, hashes recomputed, header flipped: each entry still agrees with itself, and nothing is vouched for.
    const forged = filtered.map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.seq !== 60 || record.type !== 'entry') return line;
      const { type: _type, prev_hash: _prev, hash: _hash, ...entry } = { ...record, object: 'dossier falsifié' } as Record<string, unknown>;
      return JSON.stringify({ ...record, object: 'dossier falsifié', hash: chainHash(record.prev_hash as string, entry as unknown as AuditEntry) });
    });
    expect(await verify('filtered-forged.ndjson', forged)).toMatchObject({ ok: true, contiguous: false, signed_through_seq: null, unsigned_entries: 130 });
  });

  it('refuses a file without its header line, and an empty file: nothing says how its entries link', async () => {
    for (const [name, all] of [['headerless.ndjson', lines.slice(1)], ['empty.ndjson', []], ['blank.ndjson', ['', '']]] as const) {
      for (const parts of [1, 3]) {
        expect(await verifyExportFile(write(name, [...all]), undefined, [], { parts, worker: null }))
          .toMatchObject({ ok: false, problem: 'no header line: not an export of this gateway (its first line is the header)' });
      }
    }
    // A header with no entry (an empty range) verifies: nothing to vouch for.
    expect(await verify('header-only.ndjson', ended([lines[0]]))).toEqual({ ok: true, checked: 0, checkpoints_checked: 0, contiguous: true,
      signed_through_seq: null, unsigned_entries: 0, complete: true });
  });

  it('says on the command line what the signatures leave uncovered', () => {
    const run = (path: string) => spawnSync(process.execPath, [CLI, 'audit:verify', path], { encoding: 'utf8' });
    const tail = run(write('cli-tail.ndjson', lines));
    expect(tail.status).toBe(0);
    expect(tail.stderr).toContain('Note: the last 30 entries come after the last checkpoint matched in this file (seq 100)');
    const filtered = run(write('cli-filtered.ndjson', [lines[0].replace('"contiguous":true', '"contiguous":false'), ...lines.slice(1)]));
    expect(filtered.status).toBe(0);
    expect(filtered.stderr).toContain('Note: a filtered export (one partner\'s entries) is not a whole chain: each of its 130 entries');
    const ends = run(write('cli-ends.ndjson', ended(lines.slice(0, lines.findIndex((line) => line.includes('"type":"checkpoint","seq":100')) + 1))));
    expect(ends.stderr).toBe('');
    const old = run(write('cli-before-end-lines.ndjson', beforeEndLines(ended(lines.slice(0, 52)))));
    expect(old.status).toBe(0);
    expect(old.stderr).toBe('Note: this export was made before exports ended with a line counting their records: a file cut short '
      + 'between two lines cannot be told from a whole one (export the range again to be sure).\n');
    const cut = run(write('cli-cut.ndjson', lines.slice(0, 40)));
    expect(cut.status).toBe(1);
    expect(JSON.parse(cut.stdout.trim())).toMatchObject({ ok: false, checked: 39, problem: 'the file ends before its end line: it was cut short (export it again)' });
    const headerless = run(write('cli-headerless.ndjson', lines.slice(1)));
    expect(headerless.status).toBe(1);
    expect(JSON.parse(headerless.stdout.trim())).toMatchObject({ ok: false, problem: expect.stringContaining('no header line') });
  });
});

describe('an export cut short, or with lines added or removed at its end', () => {
  const { lines } = exportLines(300, 20);
  const CUT_SHORT = 'the file ends before its end line: it was cut short (export it again)';
  const verifyIn = async (name: string, all: string[], parts: number) => verifyExportFile(write(name, all), undefined, [], { parts, worker: null });

  it('fails a file cut between any two lines, in one part or several: the end line is missing', async () => {
    // Every cut from the header on (a cut inside a line already fails as not JSON).
    for (let keep = 1; keep < lines.length; keep += 7) {
      const single = await verifyIn(`cut-${keep}.ndjson`, lines.slice(0, keep), 1);
      expect({ keep, ...single }).toMatchObject({ keep, ok: false, problem: CUT_SHORT });
      expect(single.checked).toBe(lines.slice(0, keep).filter((line) => line.startsWith('{"type":"entry"')).length);
      expect(await verifyIn(`cut-${keep}-parts.ndjson`, lines.slice(0, keep), 3)).toEqual(single);
    }
  });

  it('fails a file whose end line counts other records than it holds, or that goes on after its end line', async () => {
    const lastEntry = lines.map((line) => line.startsWith('{"type":"entry"')).lastIndexOf(true);
    const cases: Record<string, string[]> = {
      'last entry removed': lines.filter((_, i) => i !== lastEntry),
      'last checkpoint removed': lines.filter((_, i) => i !== lines.length - 2),
      'end line counts fewer': [...lines.slice(0, -1), lines[lines.length - 1].replace('"entries":300', '"entries":299')],
      'end line names another seq': [...lines.slice(0, -1), lines[lines.length - 1].replace('"last_seq":300', '"last_seq":301')],
    };
    for (const [name, all] of Object.entries(cases)) {
      for (const parts of [1, 4]) {
        expect({ name, ...(await verifyIn(`${name.replace(/\W/g, '-')}-${parts}.ndjson`, all, parts)) })
          .toMatchObject({ name, ok: false, problem: expect.stringMatching(/^the end line counts \d+ entries and \d+ checkpoints up to seq \d+, the file holds .*: lines were removed or added$/) });
      }
    }
    // An entry line after the end line: in the end line's part, or the first line of a later part.
    const after = [...lines, lines[lines.length - 2]];
    const moved = [...lines.slice(0, 150), lines[lines.length - 1], ...lines.slice(150, -1)];
    for (const [name, all] of [['after', after], ['moved', moved]] as const) {
      const single = await verifyIn(`${name}-1.ndjson`, all, 1);
      expect(single).toMatchObject({ ok: false, problem: 'a line after the end line' });
      for (const parts of [2, 3, 7]) expect(await verifyIn(`${name}-${parts}.ndjson`, all, parts)).toEqual(single);
    }
    // Blank lines after it are not lines of the export.
    expect(await verifyIn('blank-after.ndjson', [...lines, '', ''], 2)).toMatchObject({ ok: true, complete: true });
  });

  it('verifies an export made before end lines as before, and says it cannot tell whether it is whole', async () => {
    const old = beforeEndLines(lines);
    expect(await verifyIn('old.ndjson', old, 1)).toEqual({ ok: true, checked: 300, checkpoints_checked: 15, contiguous: true,
      signed_through_seq: 300, unsigned_entries: 0, complete: null });
    expect(await verifyIn('old-cut.ndjson', old.slice(0, 100), 3)).toMatchObject({ ok: true, complete: null });
  });
});
