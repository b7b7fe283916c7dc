import { LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AppModule } from './app.module';
import { CommonOptions } from './common/common.module';
import { ProblemFilter } from './common/errors/problem.filter';
import { refuseUnexpectedMediaType } from './common/http/media-type';
import { installRequestLog } from './common/logging/request-log';
import { Metrics } from './common/metrics';
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
  const adapter = new FastifyAdapter({
    bodyLimit: options.config.bodyLimitBytes,
    genReqId: requestIdOf,
    requestIdHeader: false,
    logger: false,
    trustProxy: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger: LEVELS[options.config.logLevel] ?? LEVELS.info,
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Callback-style hooks: no promise per request on the hot path.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('preValidation', (request, _reply, done) => {
    try {
      refuseUnexpectedMediaType(request);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
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
    .build(), { extraModels: [LookupDto] });
  documentLookupRoute(document);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
  return app;
}
