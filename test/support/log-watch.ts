import { FIXED_PERSONS } from '../../simulator/persons';

/**
 * "No NIR in clear in logs", and no personal data at all, checked over the whole test suite rather than in one
 * test: everything the gateway writes while a test file runs — in this process (Nest's logger writes to
 * process.stdout and process.stderr; jest's own console does not go through them) and in the gateway processes the
 * fault and security suites start (`watchText`, from test/faults/harness.ts) — is searched for the NIRs the tests
 * look up and the simulator's fixed persons' names and dates of birth (what identity lookups send); the file fails
 * at its end if one appears. The failure paths (upstream errors, database faults, refused input) are where one
 * would slip into a message. Installed for every file by jest's setupFilesAfterEnv.
 */
const NIRS = [...FIXED_PERSONS.map((person) => person.nir), '299011305520042'].flatMap((nir) => [nir, nir.slice(0, 13)]);
const WATCHED = [...NIRS, ...FIXED_PERSONS.flatMap((person) => [person.identite.nom_famille, person.identite.date_naissance])];
const LONGEST = Math.max(...WATCHED.map((value) => value.length));

interface Watch { tails: Map<string, string>; found: string[] }
const KEY = Symbol.for('api-droits-cnam.log-watch');
const state = globalThis as unknown as Record<symbol, Watch | undefined>;

/** Reads one more piece of what `source` wrote (pieces may cut a NIR in two: the end of the last one is kept). */
export function watchText(source: string, text: string): void {
  const watch = state[KEY];
  if (!watch) return;
  const seen = (watch.tails.get(source) ?? '') + text;
  for (const value of WATCHED) {
    const at = seen.indexOf(value);
    if (at >= 0) {
      // Where it was, with the value itself left out of the report.
      watch.found.push(`${source}: …${seen.slice(Math.max(0, at - 80), at)}[${value.slice(0, 3)}…]${seen.slice(at + value.length, at + value.length + 40)}…`);
      break;
    }
  }
  watch.tails.set(source, seen.slice(-LONGEST));
}

if (!state[KEY]) {
  state[KEY] = { tails: new Map(), found: [] };
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    const source = stream === process.stdout ? 'stdout' : 'stderr';
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      watchText(source, typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

afterAll(() => {
  const found = state[KEY]!.found.splice(0);
  if (found.length > 0) throw new Error(`Personal data (a NIR, a name, a date of birth) in what the gateway wrote (${found.length} times):\n${found.slice(0, 5).join('\n')}`);
});
