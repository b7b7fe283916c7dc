import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { documentProblems } from './docs/openapi-problems';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyStatic from '@fastify/static';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import type { IncomingMessage, Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { AppModule } from './app.module';
import { CONSOLE_COOKIE_SCHEME } from './auth/access.decorators';
import { CONSOLE_COOKIE } from './auth/access.guard';
import { CommonOptions } from './common/common.module';
import { ProblemFilter } from './common/errors/problem.filter';
import { isFormRoute, refuseUnexpectedMediaType } from './common/http/media-type';
import { refuseUnsafeInput } from './common/http/safe-input';
import { SECURITY_HEADERS } from './common/http/security-headers';
import { installRequestLog } from './common/logging/request-log';
import { Metrics } from './common/metrics';
import { ServerSecret } from './common/server-secret';
import { Stopping } from './common/stopping';
import { DtoValidationPipe } from './common/http/validation.pipe';
import { LookupDto } from './rights/lookup.dto';
import { documentLookupRoute } from './rights/lookup.route';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const LEVELS: Record<string, LogLevel[]> = {
  fatal: ['fatal'], error: ['fatal', 'error'], warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'], debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'], silent: [],
};

/** The caller's X-Request-Id when it is well-formed, else a fresh UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the gateway (NestJS on Fastify) with its error handling, validation and OpenAPI document. */
export async function createApp(options: CommonOptions): Promise<NestFastifyApplication> {
  const { http } = options.config;
  const adapter = new FastifyAdapter({
    bodyLimit: options.config.bodyLimitBytes,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logger: false,
    // X-Forwarded-For and X-Forwarded-Proto are believed from the configured proxies only: the client address the
    // throttles count by, and whether the client spoke HTTPS (Secure cookies), come from them.
    trustProxy: http.trustedProxies.length > 0 ? http.trustedProxies : false,
    // A client that sends its request slowly (headers or body) is cut off; an idle keep-alive connection closed.
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: { headersTimeout: Math.min(http.requestTimeoutMs, 10_000), connectionsCheckingInterval: Math.min(1000, http.requestTimeoutMs) },
    // While stopping, a request that arrives on a connection already open is served in full (its answer closes the
    // connection) rather than refused with a bare 503: see closeGracefully.
    return503OnClosing: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger: LEVELS[options.config.logLevel] ?? LEVELS.info,
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  app.getHttpServer().maxConnections = http.maxConnections;
  // Callback-style hooks: no promise per request on the hot path.
  // Helmet's headers (nosniff, HSTS, no framing...), computed once (security-headers.ts); a sandbox says so on every answer.
  const everyAnswer = options.config.sandbox ? { ...SECURITY_HEADERS, 'x-sandbox': 'true' } : SECURITY_HEADERS;
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.headers(everyAnswer);
    reply.header('x-request-id', request.id);
    // Nothing is cached unless a route says so (JWKS, checkpoints): answers carry secrets, traces, rights.
    reply.header('cache-control', 'no-store');
    done();
  });
  // While the instance stops, every answer closes its connection: a keep-alive connection whose request was in flight
  // when the stop began, or arrived on it during the stop (closeGracefully leaves open connections to their client
  // for a moment), would otherwise stay open for HTTP_KEEP_ALIVE_TIMEOUT_MS (30 s), holding the stop past its
  // deadline. (The cookie plugin's onSend hook already runs for every answer, so this one costs a function call.)
  const stopping = app.get(Stopping).signal;
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (stopping.aborted) reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    try {
      refuseUnexpectedMediaType(request);
      refuseUnsafeInput(request, isFormRoute(request));
      done();
    } catch (error) {
      done(error as Error);
    }
  });
  await registerConsolePlugins(app);
  const metrics = app.get(Metrics);
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.recordRequest(request.routeOptions?.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  const flushLog = installRequestLog(fastify, options.config.logLevel);
  fastify.addHook('onClose', async () => flushLog());
  app.useGlobalFilters(new ProblemFilter());
  app.useGlobalPipes(new DtoValidationPipe());

  const document = SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('API droits CNAM gateway')
    .setDescription('Partner administrations check a person\'s health-insurance rights. Contract: DESIGN.md §3–6.')
    .setVersion('1.0')
    .addBearerAuth()
    .addCookieAuth(CONSOLE_COOKIE, { type: 'apiKey', in: 'cookie', name: CONSOLE_COOKIE }, CONSOLE_COOKIE_SCHEME)
    .build(), { extraModels: [LookupDto] });
  documentLookupRoute(document);
  documentProblems(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  return app;
}

/**
 * What the console's pages need from Fastify: cookies (signed with a key derived from the master secret, so every
 * instance reads them), CSRF tokens for every form (a secret in an httpOnly, SameSite=Strict cookie), and the
 * DSFR's own files served from this origin (CSS, script, fonts, icons: no other host).
 */
async function registerConsolePlugins(app: NestFastifyApplication): Promise<void> {
  await app.register(fastifyCookie as never, { secret: app.get(ServerSecret).derive('console cookies').toString('hex') });
  await app.register(fastifyCsrf as never, {
    sessionPlugin: '@fastify/cookie', cookieKey: 'cnam_console_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', secure: 'auto', signed: true },
  });
  await app.register(fastifyStatic as never, {
    root: dirname(require.resolve('@gouvfr/dsfr/dist/dsfr.min.css')), prefix: '/assets/dsfr/', decorateReply: false,
    maxAge: 86_400_000, index: false, list: false,
  });
}

/**
 * How long a stopping instance leaves the keep-alive connections idle at the signal to their clients. A balancer under
 * load sends its next request on them within milliseconds: served, its answer closes the connection. Closed at once
 * instead, one the balancer had just written a lookup on would be cut — a 502, for a proxy does not replay a POST.
 * Those still idle after it (a client that has nothing to send) are closed then.
 */
export const IDLE_DRAIN_MS = 1000;

/**
 * Stops the way a load balancer expects (SIGTERM): first the HTTP server — no new connection, every request already
 * received or arriving on a connection already open answered in full and traced, each connection closed after its
 * answer —, then the modules (the sealer seals what is pending, the counters are written) and last the database.
 * Nest's own close() destroys the modules first, which would pull the upstream pool and the trail from under the
 * requests still running.
 */
export async function closeGracefully(app: NestFastifyApplication): Promise<void> {
  // Work that could outlast the stop's deadline (a verification of the whole trail) gives up first, with an answer;
  // from now on every answer closes its connection (the onSend hook above).
  app.get(Stopping).begin();
  const server = app.getHttpServer() as Server;
  // No new connection, but not http.Server's close(), which also closes the idle connections at once.
  let ended: () => void = () => undefined;
  const allEnded = new Promise<void>((resolve) => (ended = resolve));
  NetServer.prototype.close.call(server, () => ended());
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allEnded, new Promise((resolve) => (timer = setTimeout(resolve, IDLE_DRAIN_MS)))]);
  clearTimeout(timer);
  server.closeIdleConnections();
  // The requests in flight are answered (each closing its connection); Fastify then runs its own closing steps.
  await allEnded;
  await app.getHttpAdapter().getInstance().close();
  await app.close();
}
