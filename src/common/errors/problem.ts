import { HttpException } from '@nestjs/common';
import { isDatabaseUnreachable } from '../database/unreachable';
import { ProblemCode } from './problem-codes';
import { AuditUnavailable, DomainError, FieldError, OAuthError, ValidationFailed } from './domain-errors';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export interface ProblemAnswer {
  body: Problem;
  headers: Record<string, string>;
  contentType: string;
}

const problemType = (code: ProblemCode) => `urn:api-droits-cnam:problem:${code}`;

const HTTP_CODES: Record<number, ProblemCode> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
  406: 'not_acceptable', 408: 'request_timeout', 409: 'conflict', 413: 'payload_too_large',
  415: 'unsupported_media_type', 429: 'rate_limited',
};

/**
 * Turns anything thrown into an RFC 9457 problem. Unknown errors become a 500 whose detail says nothing
 * about the cause (the cause is logged, without personal data, by the caller).
 */
export function toProblem(error: unknown, requestId: string | undefined): ProblemAnswer {
  if (isDatabaseUnreachable(error)) {
    error = new AuditUnavailable('The gateway cannot reach its database, which holds the audit trail: nothing was done. Retry later.');
  }
  if (error instanceof DomainError) {
    const body: Problem = {
      type: problemType(error.code), title: error.title, status: error.status, detail: error.detail,
      code: error.code, request_id: requestId, ...error.extra,
    };
    if (error instanceof ValidationFailed) body.errors = error.errors;
    if (error instanceof OAuthError) {
      body.error = error.code;
      body.error_description = error.detail;
      return { body, headers: { ...error.headers, 'cache-control': 'no-store' }, contentType: 'application/json' };
    }
    return { body, headers: error.headers, contentType: 'application/problem+json' };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    // Nest wraps Fastify's own errors (body parsing, size) in HttpExceptions with their status; a 400 there is a
    // body that is not JSON.
    if (status === 400) return simple(400, 'malformed_body', 'The body is not valid JSON.', requestId);
    const code = HTTP_CODES[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
    const detail = status === 404 ? 'No such resource.' : status === 413 ? 'The request body is too large.'
      : status === 415 ? 'Unsupported Content-Type; send application/json.' : `${status} ${code.replace(/_/g, ' ')}`;
    return simple(status, code, detail, requestId);
  }
  const statusCode = (error as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return simple(statusCode, HTTP_CODES[statusCode] ?? 'bad_request', 'The request is malformed.', requestId);
  }
  return simple(500, 'internal_error', 'An unexpected error occurred; it has been logged.', requestId);
}

function simple(status: number, code: ProblemCode, detail: string, requestId?: string): ProblemAnswer {
  const title = status >= 500 ? 'Internal error' : code.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  return {
    body: { type: problemType(code), title, status, detail, code, request_id: requestId },
    headers: {},
    contentType: 'application/problem+json',
  };
}
