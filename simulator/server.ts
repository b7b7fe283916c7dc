import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { FIXED_PERSONS, UpstreamRecord } from './persons';

/**
 * The upstream CNAM rights backend simulator (DESIGN §7): POST /beneficiaires/recherche by NIR or identity.
 * This first version holds the fixed persons only; the rights-lookup issue grows the population and faults.
 */
export interface Simulator {
  server: Server;
  url: string;
  close(): Promise<void>;
}

const byNir = new Map(FIXED_PERSONS.map((person) => [person.nir, person]));

function findByIdentity(identite: Record<string, unknown>): UpstreamRecord | undefined {
  const prenoms = Array.isArray(identite.prenoms) ? identite.prenoms.map(String) : [];
  return FIXED_PERSONS.find((person) =>
    person.identite.nom_famille === String(identite.nom_naissance ?? '').toUpperCase()
    && person.identite.date_naissance === identite.date_naissance
    && person.identite.sexe === identite.sexe
    && (prenoms.length === 0 || person.identite.prenoms[0]?.toLowerCase() === prenoms[0]?.toLowerCase()));
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function handle(request: IncomingMessage, response: ServerResponse, body: string): void {
  if (request.method === 'GET' && request.url === '/health') return send(response, 200, { status: 'ok' });
  if (request.method !== 'POST' || request.url !== '/beneficiaires/recherche') return send(response, 404, { code: 'route' });
  let query: Record<string, unknown>;
  try {
    query = JSON.parse(body);
  } catch {
    return send(response, 400, { code: 'requete_invalide' });
  }
  const person = typeof query.nir === 'string' ? byNir.get(query.nir)
    : query.identite && typeof query.identite === 'object' ? findByIdentity(query.identite as Record<string, unknown>)
      : undefined;
  if (!person) return send(response, 404, { code: 'inconnu' });
  return send(response, 200, person);
}

export function startSimulator(port = 0, host = '127.0.0.1'): Promise<Simulator> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, response, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(port, host, () => {
    const { port: bound } = server.address() as { port: number };
    resolve({
      server, url: `http://${host}:${bound}`,
      close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
    });
  }));
}

if (require.main === module) {
  const port = Number(process.env.SIMULATOR_PORT ?? 4010);
  void startSimulator(port, process.env.SIMULATOR_HOST ?? '127.0.0.1').then((simulator) =>
    console.log(`Upstream simulator ready on ${simulator.url}`));
}
