import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { FIXED_PERSONS } from '../../simulator/persons';
import { loadConfig } from '../common/config/config';
import { Metrics } from '../common/metrics';
import { UpstreamError, UpstreamTimeout } from './rights.errors';
import { UpstreamClient } from './upstream.client';

const DUPONT = FIXED_PERSONS[0];
const SUBJECT = { nir: DUPONT.nir };

/**
 * The upstream client against a real HTTP server on loopback, whose answer each test sets: what the client makes of
 * every kind of answer, and what it sends.
 */
describe('UpstreamClient, over a real socket', () => {
  let server: Server;
  let answer: (request: IncomingMessage, response: ServerResponse, body: string) => void;
  let client: UpstreamClient;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => answer(request, response, body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new UpstreamClient(loadConfig({ UPSTREAM_URL: `http://127.0.0.1:${port}/cnam`, UPSTREAM_TIMEOUT_MS: '300' }), new Metrics());
  });

  afterAll(async () => {
    await client.onModuleDestroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (status: number, value: unknown) => (_request: IncomingMessage, response: ServerResponse) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

  it('posts the subject and date to /beneficiaires/recherche with the request id, and maps a 200 to the record', async () => {
    let seen: { url?: string; correlation?: string; body?: unknown } = {};
    answer = (request, response, body) => {
      seen = { url: request.url, correlation: request.headers['x-correlation-id'] as string, body: JSON.parse(body) };
      json(200, DUPONT)(request, response);
    };
    const result = await client.search(SUBJECT, '2026-11-23', 'req-123');
    expect(seen).toEqual({ url: '/cnam/beneficiaires/recherche', correlation: 'req-123', body: { nir: DUPONT.nir, date_reference: '2026-11-23' } });
    expect(result).toMatchObject({ found: true, record: { nir: DUPONT.nir, caisse: DUPONT.caisse } });
  });

  it('reads an answer sent in many small pieces', async () => {
    answer = (_request, response) => {
      const text = JSON.stringify(DUPONT);
      response.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < text.length; i += 7) response.write(text.slice(i, i + 7));
      response.end();
    };
    expect(await client.search(SUBJECT, '2026-11-23', 'req-chunks')).toMatchObject({ found: true, record: { nir: DUPONT.nir } });
  });

  it('takes a 404 "inconnu" as a successful answer (unknown person), and any other 404 as an error', async () => {
    answer = json(404, { code: 'inconnu' });
    expect(await client.search(SUBJECT, '2026-11-23', 'req-404')).toMatchObject({ found: false });
    answer = json(404, { message: 'no such route' });
    await expect(client.search(SUBJECT, '2026-11-23', 'req-404b')).rejects.toMatchObject({ reason: 'status 404' });
  });

  it('refuses a malformed record, a body that is not JSON, and an answer too large', async () => {
    answer = json(200, { ...DUPONT, caisse: { ...DUPONT.caisse, code_caisse: 751 } });
    await expect(client.search(SUBJECT, '2026-11-23', 'r1')).rejects.toMatchObject({ reason: 'malformed at caisse.code_caisse' });
    answer = (_request, response) => response.writeHead(200).end('<html>maintenance</html>');
    await expect(client.search(SUBJECT, '2026-11-23', 'r2')).rejects.toMatchObject({ reason: 'not JSON' });
    answer = json(200, { ...DUPONT, padding: 'x'.repeat(70 * 1024) });
    await expect(client.search(SUBJECT, '2026-11-23', 'r3')).rejects.toEqual(expect.objectContaining({ reason: 'answer_too_large' }));
    // The connection the oversized answer was cut on is not reused for the next call.
    answer = json(200, DUPONT);
    expect(await client.search(SUBJECT, '2026-11-23', 'r4')).toMatchObject({ found: true });
  });

  it('turns a connection cut mid-answer into an upstream error, and a silent upstream into a timeout', async () => {
    answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '5000' });
      response.write('{"nir":');
      setTimeout(() => response.socket?.destroy(), 10);
    };
    const cut = await client.search(SUBJECT, '2026-11-23', 'r5').catch((error: unknown) => error);
    expect(cut).toBeInstanceOf(UpstreamError);
    expect((cut as UpstreamError).reason).toMatch(/^UND_ERR_SOCKET$/);
    answer = () => undefined; // never answers
    await expect(client.search(SUBJECT, '2026-11-23', 'r6')).rejects.toBeInstanceOf(UpstreamTimeout);
  });
});
