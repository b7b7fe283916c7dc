import { startSimulator, Simulator } from '../simulator/server';
import { withKey } from '../src/rights/nir';
import { ALL, NO_CONTEXT, OPEN_DATA_HEADER, OTHER_CONTEXTS } from '../src/sla/open-data-table';
import { makeSiret, onboardPartner, OnboardedPartner, partnerToken } from './support/factories';
import { client } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

/** A valid NIR the simulator does not know (404 person_not_found): a distinct person per `n`. */
const unknownNir = (n: number) => withKey(`1850575056${String(100 + n).padStart(3, '0')}`);
const DUPONT = '284057505612387';

describe('open data: monthly usage by partner type and context (DESIGN §6)', () => {
  let simulator: Simulator;
  let t: TestApp;
  let api: ReturnType<typeof client>;
  const partners: Record<string, OnboardedPartner> = {};
  const sirets: Record<string, string> = {};
  let csv: string;
  let rows: Record<string, string>[];

  const partner = async (key: string, type: string | undefined, approval: Record<string, unknown> = {}) => {
    const siret = (sirets[key] = makeSiret(`21690123${10000 + Object.keys(partners).length}`));
    partners[key] = await onboardPartner(t, { organisation: { name: `Organisme ${key}`, siret, ...(type ? { type } : {}) },
      recipients: [siret] }, approval);
    return siret;
  };
  const lookups = async (key: string, siret: string, count: number, body: (i: number) => Record<string, unknown>) => {
    const token = await partnerToken(t, partners[key]);
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      statuses.push((await api.post('/v1/droits/recherche', { recipient: siret, object: `dossier ${i}`, agent: 'agent-1', ...body(i) },
        { token })).status);
    }
    return statuses;
  };
  const row = (type: string, context: string) => rows.find((r) => r.partner_type === type && r.context === context);

  beforeAll(async () => {
    simulator = await startSimulator({ population: 50 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url, SLA_PROBE_INTERVAL_SECONDS: '0' });
    api = client(t.url);
    await t.sql('UPDATE sla_service SET measured_from = $1', [new Date('2026-09-01T00:00:00Z')]);
    // October 2026 in Paris: three partners name their case "RSA" (one as "rsa "), one alone "APA".
    t.clock.set(new Date('2026-10-15T10:00:00Z'));
    const caf1 = await partner('caf1', 'caf');
    const caf2 = await partner('caf2', 'caf');
    const ccas = await partner('ccas', 'ccas');
    const dept = await partner('dept', undefined, { organisationType: 'departement' });
    expect(await lookups('caf1', caf1, 20, (i) => ({ nir: unknownNir(i), context: 'RSA' }))).toEqual(new Array(20).fill(404));
    expect(await lookups('caf2', caf2, 5, () => ({ nir: DUPONT, context: 'RSA' }))).toEqual(new Array(5).fill(200));
    expect(await lookups('dept', dept, 12, (i) => ({ nir: unknownNir(100 + i), context: 'rsa ' }))).toEqual(new Array(12).fill(404));
    expect(await lookups('ccas', ccas, 14, (i) => ({ nir: unknownNir(200 + i), context: 'APA dossier Martin' }))).toEqual(new Array(14).fill(404));
    expect(await lookups('ccas', ccas, 3, () => ({ nir: '284057505612388' }))).toEqual([400, 400, 400]);
    t.clock.set(new Date('2026-11-02T08:00:00Z'));
    const answer = await api.get('/v1/open-data/usage.csv?month=2026-10');
    expect(answer.status).toBe(200);
    csv = answer.text;
    const [header, ...lines] = csv.trimEnd().split('\r\n');
    expect(header.split(',')).toEqual(OPEN_DATA_HEADER);
    rows = lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [OPEN_DATA_HEADER[i], value])));
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it('counts lookups by partner type (declared, or corrected at approval) and by context, with distinct persons', () => {
    expect(row('caf', 'RSA')).toMatchObject({ month: '2026-10', lookups: '25', person_not_found: '20', distinct_persons: '21' });
    // 12 lookups, all of one outcome: published, the outcome would give the other outcomes' zeros away.
    expect(row('departement', 'RSA')).toMatchObject({ lookups: '12', person_not_found: 'NS', distinct_persons: '12' });
    expect(row(ALL, ALL)).toMatchObject({ lookups: '54', distinct_persons: '47' });
    expect(row('ccas', OTHER_CONTEXTS)).toMatchObject({ person_not_found: '14', distinct_persons: '14' });
  });

  it('never publishes a count below 11, nor one that the totals would give back', () => {
    expect(row('caf', 'RSA')!.ok).toBe('NS'); // 5 found
    expect(row('ccas', NO_CONTEXT)).toMatchObject({ lookups: 'NS', invalid: 'NS', distinct_persons: 'NS' }); // 3 invalid
    for (const r of rows) {
      for (const column of OPEN_DATA_HEADER.slice(3, -2)) {
        if (r[column] !== 'NS') expect(Number(r[column])).toBeGreaterThanOrEqual(11);
      }
    }
    // The CCAS's 17 lookups are 14 (other contexts) + 3 (none): with the 3 hidden, the 14 or the 17 must be too, or
    // the difference gives the 3 back.
    expect([row('ccas', ALL)!.lookups, row('ccas', OTHER_CONTEXTS)!.lookups]).toContain('NS');
  });

  it('names a context only when three partners use it, and never a partner or a person', () => {
    expect(rows.map((r) => r.context)).not.toContain('APA DOSSIER MARTIN');
    expect(csv).not.toMatch(/Martin|Organisme|dossier|agent-1/i);
    for (const p of Object.values(partners)) expect(csv).not.toContain(p.partnerId);
    expect(csv).not.toContain(DUPONT);
  });

  it('names its licence and source in the file and in the headers, and serves the same file every time', async () => {
    expect(rows.every((r) => r.licence === 'ODbL-1.0' && r.source === 'DINSIC (passerelle API droits CNAM)')).toBe(true);
    const again = await api.get('/v1/open-data/usage.csv?month=2026-10');
    expect(again.headers.get('link')).toBe('<https://opendatacommons.org/licenses/odbl/1-0/>; rel="license"; title="ODbL-1.0"');
    expect(again.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(again.headers.get('cache-control')).toBe('public, max-age=86400');
    // A lookup dated in October arriving after publication (a late entry) changes nothing published.
    t.clock.set(new Date('2026-10-31T22:00:00Z'));
    await lookups('caf1', sirets.caf1, 1, () => ({ nir: unknownNir(999), context: 'RSA' }));
    t.clock.set(new Date('2026-11-02T09:00:00Z'));
    expect((await api.get('/v1/open-data/usage.csv?month=2026-10')).text).toBe(csv);
    // Without a month: the last month that is over.
    expect((await api.get('/v1/open-data/usage.csv')).text).toBe(csv);
  });

  it('refuses a month not over yet (409), one before the service ran (404) and one that is no month (400)', async () => {
    expect((await api.get('/v1/open-data/usage.csv?month=2026-11')).body).toMatchObject({ status: 409, code: 'month_not_over' });
    expect((await api.get('/v1/open-data/usage.csv?month=2026-08')).body).toMatchObject({ status: 404, code: 'open_data_not_found' });
    const invalid = await api.get('/v1/open-data/usage.csv?month=2026-13');
    expect(invalid.body).toMatchObject({ status: 400, code: 'invalid_request', errors: [{ field: 'month', reason: 'must be a month, YYYY-MM' }] });
  });
});
