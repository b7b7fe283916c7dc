import { Agent, createServer, request } from 'node:http';

/**
 * The floor a Node gateway cannot beat: forwards each request body to the upstream over keep-alive
 * connections and pipes the answer back, doing nothing else.
 */
const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:4010');
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const server = createServer((incoming, outgoing) => {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.on('end', () => {
    const body = Buffer.concat(chunks);
    const forward = request({ host: upstream.hostname, port: upstream.port, method: 'POST', path: '/beneficiaires/recherche', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length } }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, { 'content-type': 'application/json' });
      answer.pipe(outgoing);
    });
    forward.on('error', () => {
      outgoing.writeHead(502);
      outgoing.end();
    });
    forward.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`minimal proxy ready on ${(server.address() as { port: number }).port}`);
});
