import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Forbidden } from '../common/errors/domain-errors';

/**
 * Every console form that changes something carries the CSRF token of @fastify/csrf-protection (DESIGN §4); a POST
 * without a valid one is refused before its handler runs, with the console's "form expired" page.
 */
@Injectable()
export class ConsoleCsrfGuard implements CanActivate {
  canActivate(context: ExecutionContext): Promise<boolean> | boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (request.method === 'GET' || request.method === 'HEAD') return true;
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    return new Promise((resolve, reject) => {
      // The plugin answers a failure itself (reply.send); here it becomes a domain error for the console's filter.
      const answer = { unsignCookie: (value: string) => reply.unsignCookie(value),
        send: () => reject(new Forbidden('csrf_invalid', 'The form has expired or does not come from the console.')) };
      request.server.csrfProtection(request, answer as never, () => resolve(true));
    });
  }
}
