/**
 * Typed domain errors. Services throw these; the single problem filter turns them into RFC 9457
 * problem+json answers. Nothing deep in the code throws an HTTP exception.
 */
import { ProblemCode } from './problem-codes';

export interface FieldError {
  field: string;
  reason: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: ProblemCode;
  abstract readonly title: string;
  readonly headers: Record<string, string> = {};
  readonly extra: Record<string, unknown> = {};
  constructor(readonly detail: string) {
    super(detail);
  }
}

export class ValidationFailed extends DomainError {
  readonly status = 400;
  readonly code = 'invalid_request';
  readonly title = 'Invalid request';
  constructor(readonly errors: FieldError[], detail = 'The request has invalid fields; see errors.') {
    super(detail);
  }
}

export class BadRequest extends DomainError {
  readonly status = 400;
  readonly title = 'Bad request';
  constructor(readonly code: ProblemCode, detail: string) {
    super(detail);
  }
}

export class NotFound extends DomainError {
  readonly status = 404;
  readonly code: ProblemCode = 'not_found';
  readonly title = 'Not found';
}

export class Conflict extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
  constructor(readonly code: ProblemCode, detail: string) {
    super(detail);
  }
}

export class Unauthenticated extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  constructor(readonly code: ProblemCode, detail: string, scheme = 'Bearer') {
    super(detail);
    this.headers['www-authenticate'] = `${scheme} error="${code === 'token_missing' ? 'invalid_request' : 'invalid_token'}"`;
  }
}

export class Forbidden extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
  constructor(readonly code: ProblemCode, detail: string) {
    super(detail);
  }
}

export class RateLimited extends DomainError {
  readonly status = 429;
  readonly code = 'rate_limited';
  readonly title = 'Too many requests';
  constructor(retryAfterSeconds: number, detail = 'Rate limit exceeded; retry later.') {
    super(detail);
    this.headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

export class ServiceUnavailable extends DomainError {
  readonly status = 503;
  readonly title = 'Service unavailable';
  constructor(readonly code: ProblemCode, detail: string, retryAfterSeconds = 5) {
    super(detail);
    this.headers['retry-after'] = String(retryAfterSeconds);
    this.extra.retryable = true;
  }
}

/**
 * The trail cannot take an entry (its database is unreachable, or refused the write): the access is not traced
 * durably, so nothing is done and no personal data is returned (DESIGN §3.4, fail closed). Also the answer of any
 * route while the database cannot be reached: every action is traced in it.
 */
export class AuditUnavailable extends DomainError {
  readonly status = 503;
  readonly code = 'audit_unavailable';
  readonly title = 'Audit unavailable';
  constructor(detail = 'The access could not be traced durably, so no personal data is returned. This is not a decision on '
    + 'the person\'s rights: retry later.') {
    super(detail);
    this.extra.retryable = true;
    this.headers['retry-after'] = '2';
  }
}

/**
 * An OAuth 2.0 token endpoint error (RFC 6749 §5.2): answered as application/json with `error` and
 * `error_description`, plus the problem fields every other error of the gateway carries.
 */
export class OAuthError extends DomainError {
  readonly title = 'Token request refused';
  constructor(readonly code: 'invalid_client' | 'invalid_scope' | 'unsupported_grant_type' | 'invalid_request',
    detail: string, readonly status: number = code === 'invalid_client' ? 401 : 400) {
    super(detail);
    if (code === 'invalid_client') this.headers['www-authenticate'] = 'Basic realm="oauth"';
  }
}
