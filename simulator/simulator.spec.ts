import { checkNir } from '../src/rights/nir';
import { applyFaults, faultsFromEnvironment, NO_FAULTS } from './faults';
import { generatePopulation } from './population';
import { startSimulator, Simulator } from './server';

const post = (simulator: Simulator, path: string, body: unknown, method = 'POST') =>
  fetch(simulator.url + path, { method, headers: { 'content-type': 'application/json', 'x-correlation-id': 'c-1' }, body: JSON.stringify(body) });

describe('upstream simulator', () => {
  let simulator: Simulator;
  beforeAll(async () => {
    simulator = await startSimulator({ population: 5000 });
  });
  afterEach(() => simulator.setFaults(NO_FAULTS));
  afterAll(() => simulator.close());

  it('generates the same population from the same seed, with valid NIRs and realistic shares', () => {
    const population = generatePopulation(20_000);
    expect([...population.byNir.keys()].slice(0, 50)).toEqual([...generatePopulation(20_000).byNir.keys()].slice(0, 50));
    const persons = [...population.byNir.values()];
    expect(persons.every((p) => checkNir(p.nir) === undefined)).toBe(true);
    const share = (test: (p: (typeof persons)[0]) => boolean) => persons.filter(test).length / persons.length;
    expect(share((p) => p.caisse.grand_regime === '01')).toBeGreaterThan(0.8);
    expect(share((p) => p.c2s.est_beneficiaire)).toBeGreaterThan(0.08);
    expect(share((p) => p.c2s.est_beneficiaire)).toBeLessThan(0.15);
    expect(share((p) => p.periodes_droits.some((d) => d.fin !== null))).toBeGreaterThan(0.01);
    expect(population.byNir.has('299011305520042')).toBe(false);
  });

  it('answers the fixed persons by NIR and by identity, and 404 inconnu for the unknown one', async () => {
    const dupont = await post(simulator, '/beneficiaires/recherche', { nir: '284057505612387', date_reference: '2026-11-23' });
    expect(dupont.status).toBe(200);
    expect(((await dupont.json()) as any).identite.nom_famille).toBe('DUPONT');
    const byIdentity = await post(simulator, '/beneficiaires/recherche', { identite: { nom_naissance: 'Santoni', prenoms: ['Jean'],
      date_naissance: '1971-12-03', sexe: 'M' } });
    expect(((await byIdentity.json()) as any).nir).toBe('171122A00400106');
    const unknown = await post(simulator, '/beneficiaires/recherche', { nir: '299011305520042' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ code: 'inconnu' });
    expect(simulator.lastCorrelationId()).toBe('c-1');
  });

  it('injects errors, malformed answers and latency, set at run time through its admin endpoint', async () => {
    const set = await post(simulator, '/__admin/faults', { errorRate: 1 }, 'PUT');
    expect(set.status).toBe(200);
    expect((await post(simulator, '/beneficiaires/recherche', { nir: '284057505612387' })).status).toBe(500);
    await post(simulator, '/__admin/faults', { errorRate: 0, malformedRate: 1 }, 'PUT');
    expect(((await (await post(simulator, "/beneficiaires/recherche", { nir: "284057505612387" })).json()) as any).nir).toBe(12);
    await post(simulator, '/__admin/faults', { malformedRate: 0, latencyMs: 150 }, 'PUT');
    const started = Date.now();
    await post(simulator, '/beneficiaires/recherche', { nir: '284057505612387' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const refused = await post(simulator, '/__admin/faults', { errorRate: 2, colour: 'red' }, 'PUT');
    expect(refused.status).toBe(400);
    await post(simulator, '/__admin/faults/reset', {});
    expect(await (await fetch(`${simulator.url}/__admin/faults`)).json()).toEqual(NO_FAULTS);
  });

  it('drops connections when down, and alternates when flapping', async () => {
    simulator.setFaults({ down: true });
    await expect(post(simulator, '/beneficiaires/recherche', { nir: '284057505612387' })).rejects.toThrow();
    simulator.setFaults({ down: false, flapPeriodMs: 200 });
    const outcomes = new Set<string>();
    for (let i = 0; i < 12; i++) {
      outcomes.add(await post(simulator, '/beneficiaires/recherche', { nir: '284057505612387' }).then((r) => String(r.status), () => 'reset'));
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(outcomes).toEqual(new Set(['200', 'reset']));
  });

  it('reads faults from its environment and refuses bad values', () => {
    expect(faultsFromEnvironment({ SIMULATOR_LATENCY_MS: '20', SIMULATOR_DOWN: 'true' })).toMatchObject({ latencyMs: 20, down: true });
    expect(() => faultsFromEnvironment({ SIMULATOR_ERROR_RATE: '1.5' })).toThrow(/errorRate/);
    expect(applyFaults(NO_FAULTS, { timeoutRate: -1 }).problems).toEqual(['timeoutRate must be a number from 0 to 1']);
  });
});
