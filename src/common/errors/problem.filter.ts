import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientGone } from '../http/client-gone';
import { toProblem } from './problem';

declare module 'fastify' {
  interface FastifyRequest {
    /** The problem code of a refused request, for the request log. */
    outcome?: string;
  }
}

/** The one place where errors become HTTP answers. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Problem');

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    sendProblem(error, request, reply, this.logger);
  }
}

export function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply,
  logger: Pick<Logger, 'error'>): void {
  if (error instanceof ClientGone) {
    // Work given up because its client left: there is no one to answer, and nothing went wrong.
    request.outcome = 'client_gone';
    return;
  }
  const answer = toProblem(error, request.id);
  request.outcome = answer.body.code;
  if (answer.body.status >= 500 && answer.body.code === 'internal_error') logUnexpected(error, request, logger);
  if (reply.sent) return;
  reply.status(answer.body.status).headers(answer.headers).type(answer.contentType).send(answer.body);
}

/**
 * An unexpected error, logged by its class, code and where it was thrown, never its message: messages (a database
 * error's above all) can quote request data, and the logs must hold no personal data.
 */
export function logUnexpected(error: unknown, request: FastifyRequest, logger: Pick<Logger, 'error'>): void {
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown })?.code ?? '';
  const where = error instanceof Error ? (error.stack ?? '').split('\n').find((l) => l.includes(' at ')) ?? '' : '';
  logger.error(`request ${request.id} ${request.method} ${request.routeOptions?.url ?? ''} failed: ${name} ${code} ${where.trim()}`);
}
