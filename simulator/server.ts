import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { applyFaults, Faults, faultsFromEnvironment, NO_FAULTS } from './faults';
import { UpstreamRecord } from './persons';
import { generatePopulation, identityKey, Population } from './population';

/**
 * The upstream CNAM rights backend simulator (DESIGN §7): `POST /beneficiaires/recherche { nir | identite,
 * date_reference }` → 200 full record, 404 `{ code: "inconnu" }`, 5xx on faults. A deterministic population
 * from a seed, the fixed persons of §7, and fault injection (`GET|PUT /__admin/faults`, `POST /__admin/faults/reset`).
 */
export interface Simulator {
  server: Server;
  url: string;
  population: Population;
  faults(): Faults;
  setFaults(update: Partial<Faults>): void;
  /** Requests received on the lookup route since start. */
  lookups(): number;
  /** The X-Correlation-ID of the last lookup received. */
  lastCorrelationId(): string | undefined;
  close(): Promise<void>;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  population?: number;
  seed?: number;
  faults?: Partial<Faults>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const NOT_FOUND = JSON.stringify({ code: 'inconnu' });

function send(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

function findByIdentity(population: Population, identite: Record<string, unknown>): UpstreamRecord | undefined {
  if (typeof identite.nom_naissance !== 'string' || typeof identite.date_naissance !== 'string' || typeof identite.sexe !== 'string') {
    return undefined;
  }
  const candidates = population.byIdentity.get(identityKey(identite.nom_naissance, identite.date_naissance, identite.sexe)) ?? [];
  const firstName = Array.isArray(identite.prenoms) && typeof identite.prenoms[0] === 'string'
    ? identite.prenoms[0].normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase() : undefined;
  const matches = candidates.filter((person) =>
    (!firstName || person.identite.prenoms[0].normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase() === firstName)
    && (typeof identite.code_lieu_naissance !== 'string' || person.identite.code_lieu_naissance === identite.code_lieu_naissance));
  // An identity that matches several persons identifies nobody.
  return matches.length === 1 ? matches[0] : undefined;
}

export function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const population = generatePopulation(options.population ?? 100_000, options.seed);
  const serialised = new Map<string, string>();
  let faults: Faults = { ...NO_FAULTS, ...options.faults };
  const startedAt = Date.now();
  let lookups = 0;
  let lastCorrelationId: string | undefined;
  // Lookups received and not yet answered (or abandoned by the caller), and the most at once since the last reset.
  let inFlight = 0;
  let maxInFlight = 0;

  const isDown = () => faults.down
    || (faults.flapPeriodMs > 0 && Math.floor((Date.now() - startedAt) / faults.flapPeriodMs) % 2 === 1);

  const lookup = (body: string, response: ServerResponse) => {
    let query: Record<string, unknown>;
    try {
      query = JSON.parse(body);
    } catch {
      return send(response, 400, JSON.stringify({ code: 'requete_invalide' }));
    }
    const roll = Math.random();
    if (roll < faults.timeoutRate) return; // never answered
    if (roll < faults.timeoutRate + faults.errorRate) return send(response, 500, JSON.stringify({ code: 'erreur_interne' }));
    if (roll < faults.timeoutRate + faults.errorRate + faults.malformedRate) {
      return send(response, 200, JSON.stringify({ nir: 12, identite: 'corrompu', periodes_droits: null }));
    }
    const person = typeof query.nir === 'string' ? population.byNir.get(query.nir)
      : query.identite && typeof query.identite === 'object' ? findByIdentity(population, query.identite as Record<string, unknown>)
        : undefined;
    if (!person) return send(response, 404, NOT_FOUND);
    let text = serialised.get(person.nir);
    if (!text) {
      text = JSON.stringify(person);
      serialised.set(person.nir, text);
    }
    return send(response, 200, text);
  };

  const admin = (request: IncomingMessage, body: string, response: ServerResponse) => {
    if (request.url === '/__admin/faults' && request.method === 'GET') return send(response, 200, JSON.stringify(faults));
    if (request.url === '/__admin/faults/reset' && request.method === 'POST') {
      faults = { ...NO_FAULTS };
      maxInFlight = inFlight;
      return send(response, 200, JSON.stringify(faults));
    }
    if (request.url === '/__admin/faults' && request.method === 'PUT') {
      let update: unknown;
      try {
        update = JSON.parse(body);
      } catch {
        return send(response, 400, JSON.stringify({ problems: ['body must be JSON'] }));
      }
      if (!update || typeof update !== 'object' || Array.isArray(update)) return send(response, 400, JSON.stringify({ problems: ['body must be an object'] }));
      const result = applyFaults(faults, update as Record<string, unknown>);
      if (result.problems.length) return send(response, 400, JSON.stringify({ problems: result.problems }));
      faults = result.faults;
      return send(response, 200, JSON.stringify(faults));
    }
    if (request.url === '/__admin/stats' && request.method === 'GET') {
      return send(response, 200, JSON.stringify({ lookups, population: population.size, last_correlation_id: lastCorrelationId,
        in_flight: inFlight, max_in_flight: maxInFlight }));
    }
    return send(response, 404, JSON.stringify({ code: 'route' }));
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (request.url?.startsWith('/__admin/')) return admin(request, body, response);
      if (request.method === 'GET' && request.url === '/health') return send(response, isDown() ? 503 : 200, '{"status":"ok"}');
      if (request.method !== 'POST' || request.url !== '/beneficiaires/recherche') return send(response, 404, JSON.stringify({ code: 'route' }));
      lookups++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      response.once('close', () => inFlight--);
      const correlation = request.headers['x-correlation-id'];
      lastCorrelationId = typeof correlation === 'string' ? correlation : undefined;
      if (isDown()) {
        request.socket.destroy();
        return;
      }
      const delay = faults.latencyMs + (faults.jitterMs ? Math.random() * faults.jitterMs : 0);
      if (delay > 0) setTimeout(() => lookup(body, response), delay);
      else lookup(body, response);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    resolve({
      server, population, url: `http://${options.host ?? '127.0.0.1'}:${port}`,
      faults: () => faults,
      setFaults: (update) => {
        faults = { ...faults, ...update };
      },
      lookups: () => lookups,
      lastCorrelationId: () => lastCorrelationId,
      close: () => new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
    });
  }));
}

if (require.main === module) {
  const env = process.env;
  void startSimulator({
    port: Number(env.SIMULATOR_PORT ?? 4010), host: env.SIMULATOR_HOST ?? '127.0.0.1',
    population: env.SIMULATOR_POPULATION ? Number(env.SIMULATOR_POPULATION) : undefined,
    seed: env.SIMULATOR_SEED ? Number(env.SIMULATOR_SEED) : undefined,
    faults: faultsFromEnvironment(env),
  }).then((simulator) => console.log(`Upstream simulator ready on ${simulator.url} (${simulator.population.size} persons)`));
}
