import type { FastifyInstance } from 'fastify';
import pino from 'pino';

/**
 * One JSON line per request: request id, route template, status, outcome (`ok` or the problem code), duration,
 * and the partner or operator id.
 * Never a body, a query string or a header: lookups carry personal data (the NIR is never in a URL either).
 * Written asynchronously so that logging stays off the request's critical path.
 */
export function installRequestLog(fastify: FastifyInstance, level: string): () => void {
  const destination = pino.destination({ sync: false, minLength: 4096 });
  const logger = pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  fastify.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions?.url;
    const entry = {
      request_id: request.id,
      method: request.method,
      route: route ?? 'unmatched',
      status: reply.statusCode,
      outcome: request.outcome ?? (reply.statusCode < 400 ? 'ok' : 'error'),
      ms: Math.round(reply.elapsedTime * 10) / 10,
      partner_id: request.partnerPrincipal?.partner.id,
      operator_id: request.operatorPrincipal?.operator.id,
    };
    if (route?.startsWith('/health')) logger.debug(entry, 'request');
    else if (reply.statusCode >= 500) logger.warn(entry, 'request');
    else logger.info(entry, 'request');
    done();
  });
  return () => destination.flushSync();
}
