import fc from 'fast-check';
import { startSimulator, Simulator } from '../simulator/server';
import { onboardPartner, partnerToken, SIRET_CCAS_LYON } from './support/factories';
import { http } from './support/http';
import { startTestApp, TestApp } from './support/test-app';

const BODIES = 10_000;
const CONCURRENCY = 32;

const dateLike = fc.oneof(
  fc.date({ min: new Date('1800-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  fc.string({ maxLength: 12 }), fc.integer(), fc.constant('2026-02-30'), fc.constant(null));
const nirLike = fc.oneof(fc.constant('284057505612387'), fc.constant('171122A00400106'), fc.constant('299011305520042'),
  fc.stringMatching(/^[0-9AB ]{10,20}$/), fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.constant(''));
const identiteLike = fc.oneof(
  fc.record({ nom_naissance: fc.oneof(fc.constant('DUPONT'), fc.string({ maxLength: 120 })),
    prenoms: fc.oneof(fc.array(fc.oneof(fc.constant('Marie'), fc.string({ maxLength: 20 })), { maxLength: 12 }), fc.string()),
    date_naissance: dateLike, sexe: fc.oneof(fc.constantFrom('F', 'M', 'X', ''), fc.integer()),
    code_lieu_naissance: fc.oneof(fc.constant('75056'), fc.string({ maxLength: 8 })) }, { requiredKeys: [] }),
  fc.anything(), fc.array(fc.anything(), { maxLength: 3 }));
const lookupLike = fc.record({
  nir: nirLike, identite: identiteLike, date_reference: dateLike,
  recipient: fc.oneof(fc.constant(SIRET_CCAS_LYON), fc.stringMatching(/^[0-9]{14}$/), fc.string({ maxLength: 20 }), fc.integer()),
  context: fc.oneof(fc.constant('RSA'), fc.string({ maxLength: 120 }), fc.anything()),
  object: fc.oneof(fc.constant('dossier 1'), fc.string({ maxLength: 150 }), fc.anything()),
  agent: fc.oneof(fc.constant('agent-1'), fc.string({ maxLength: 120 }), fc.integer()),
  [fc.sample(fc.constantFrom('__proto__', 'constructor', 'extra'), 1)[0]]: fc.anything(),
}, { requiredKeys: [] });

/** A request body: structured lookups with broken fields, arbitrary JSON, or raw text that may not be JSON. */
const bodyLike = fc.oneof(
  { weight: 6, arbitrary: lookupLike.map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
);

describe('fuzzing the lookup endpoint', () => {
  let simulator: Simulator;
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    simulator = await startSimulator({ population: 100 });
    t = await startTestApp({ UPSTREAM_URL: simulator.url });
    const partner = await onboardPartner(t, { scopes: ['droits.ouverture', 'droits.c2s'] }, { rateLimitPerSecond: 100_000 });
    token = await partnerToken(t, partner);
  });
  afterAll(async () => {
    await t?.close();
    await simulator?.close();
  });

  it(`answers ${BODIES} random bodies without a single 5xx`, async () => {
    const bodies = fc.sample(bodyLike, { numRuns: BODIES, seed: 20261123 });
    const failures: { body: string; status: number; text: string }[] = [];
    const statuses = new Map<number, number>();
    for (let i = 0; i < bodies.length; i += CONCURRENCY) {
      await Promise.all(bodies.slice(i, i + CONCURRENCY).map(async (body) => {
        const answer = await http(t.url, 'POST', '/v1/droits/recherche', {
          raw: body, token, headers: { 'content-type': 'application/json' } });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        if (answer.status >= 500 || ![200, 400, 403, 404, 413].includes(answer.status)) {
          failures.push({ body: body.slice(0, 300), status: answer.status, text: answer.text.slice(0, 300) });
        }
        if (answer.status === 200) expect(Object.keys(answer.body.droits).every((k) => ['ouverture', 'c2s'].includes(k))).toBe(true);
        if (answer.status === 400) expect(answer.body.code).toMatch(/^(invalid_request|malformed_body)$/);
      }));
    }
    expect(failures).toEqual([]);
    expect((statuses.get(400) ?? 0)).toBeGreaterThan(BODIES / 2);
  }, 120_000);
});
