import { HttpException } from '@nestjs/common';
import { AuditUnavailable, Conflict, Forbidden, NotFound, OAuthError, RateLimited, ServiceUnavailable, Unauthenticated, ValidationFailed }
  from '../common/errors/domain-errors';
import { ProblemCode, PROBLEM_CODES } from '../common/errors/problem-codes';
import { toProblem, ProblemAnswer } from '../common/errors/problem';
import { UnsupportedMediaType } from '../common/http/media-type';
import { InstanceStopping } from '../common/stopping';
import { PersonNotFound, RecipientNotDeclared, UnderMaintenance, UpstreamError, UpstreamTimeout, UpstreamUnavailable } from '../rights/rights.errors';
import { OpenDataNotFound } from '../sla/open-data';
import { ReportNotFound } from '../sla/sla-reports';

/** A representative of what each code is thrown as: the documented example is the answer the gateway makes of it. */
const REPRESENTATIVES: Record<ProblemCode, () => unknown> = {
  invalid_request: () => new ValidationFailed([{ field: 'recipient', reason: 'must be a valid SIRET (14 digits, Luhn check)' }]),
  malformed_body: () => new HttpException('Unexpected end of JSON input', 400),
  bad_request: () => Object.assign(new Error('bad header'), { statusCode: 400 }),
  unsupported_media_type: () => new UnsupportedMediaType('Unsupported Content-Type; send application/json.'),
  payload_too_large: () => new HttpException('Request body is too large', 413),
  unauthorized: () => new HttpException('Unauthorized', 401),
  not_found: () => new NotFound('No such resource.'),
  method_not_allowed: () => new HttpException('Method Not Allowed', 405),
  not_acceptable: () => new HttpException('Not Acceptable', 406),
  request_timeout: () => new HttpException('Request Timeout', 408),
  conflict: () => new HttpException('Conflict', 409),
  rate_limited: () => new RateLimited(1),
  invalid_client: () => new OAuthError('invalid_client', 'Unknown client or wrong secret.'),
  invalid_scope: () => new OAuthError('invalid_scope', 'Scope not granted to this client: droits.identite.'),
  unsupported_grant_type: () => new OAuthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported.'),
  token_missing: () => new Unauthenticated('token_missing', 'A bearer access token is required.'),
  invalid_token: () => new Unauthenticated('invalid_token', 'The access token is invalid.'),
  token_expired: () => new Unauthenticated('token_expired', 'The access token has expired.'),
  partner_inactive: () => new Unauthenticated('partner_inactive', 'The partner is suspended; its tokens no longer work.'),
  scope_not_granted: () => new Forbidden('scope_not_granted', 'This call needs one of the scopes: droits.ouverture droits.caisse.'),
  person_not_found: () => new PersonNotFound(),
  recipient_not_declared: () => new RecipientNotDeclared(),
  upstream_error: () => new UpstreamError('status 500'),
  upstream_timeout: () => new UpstreamTimeout(),
  upstream_unavailable: () => new UpstreamUnavailable(30),
  maintenance: () => new UnderMaintenance(new Date('2026-12-07T01:00:00Z'), 3600),
  audit_unavailable: () => new AuditUnavailable(),
  disengagement_pending: () => new Conflict('disengagement_pending', 'A disengagement is already pending, effective 2026-12-18T09:00:00.000Z.'),
  request_not_amendable: () => new Conflict('request_not_amendable', 'This access request is pending: it can be amended only when an operator asked for changes.'),
  month_not_over: () => new Conflict('month_not_over', '2026-12 is not over yet in Paris.'),
  report_not_found: () => new ReportNotFound('No availability was measured in 2025-01.'),
  open_data_not_found: () => new OpenDataNotFound('The service was not running in 2025-01.'),
  session_missing: () => new Unauthenticated('session_missing', 'An operator session is required.', 'Session'),
  invalid_session: () => new Unauthenticated('invalid_session', 'The session is invalid or has expired.', 'Session'),
  invalid_credentials: () => new Unauthenticated('invalid_credentials', 'Unknown email or wrong password.', 'Session'),
  totp_required: () => new Unauthenticated('totp_required', 'This operator has a second factor: send the code of the authenticator (totp).', 'Session'),
  invalid_totp: () => new Unauthenticated('invalid_totp', 'The second-factor code is wrong, expired or already used.', 'Session'),
  oidc_failed: () => new Unauthenticated('oidc_failed', 'The identity provider did not confirm the login.', 'Session'),
  oidc_unknown_operator: () => new Unauthenticated('oidc_unknown_operator', 'No operator has this e-mail address.', 'Session'),
  forbidden: () => new Forbidden('forbidden', 'This route is not open.'),
  role_required: () => new Forbidden('role_required', 'This action needs the role: operator or admin.'),
  second_factor_required: () => new Forbidden('second_factor_required', 'Second factor required: enrol a TOTP authenticator in the console (/console/securite) first.'),
  csrf_invalid: () => new Forbidden('csrf_invalid', 'The form has expired or does not come from the console.'),
  no_pending_enrolment: () => new Conflict('no_pending_enrolment', 'Start the enrolment first: no authenticator is waiting for a code.'),
  request_not_pending: () => new Conflict('request_not_pending', 'This access request is already approved.'),
  invalid_transition: () => new Conflict('invalid_transition', 'A revoked partner cannot be reactivated.'),
  partner_closed: () => new Conflict('partner_closed', 'The partner is revoked; its credentials cannot be rotated.'),
  terms_version_exists: () => new Conflict('terms_version_exists', 'Terms version 2027-01 already exists.'),
  operator_exists: () => new Conflict('operator_exists', 'An operator with this email already exists.'),
  maintenance_over: () => new Conflict('maintenance_over', 'This maintenance window is over: it can no longer be changed.'),
  not_ready: () => new ServiceUnavailable('not_ready', 'The database is not reachable.'),
  instance_stopping: () => new InstanceStopping(),
  audit_chain_broken: () => new ServiceUnavailable('audit_chain_broken', "The audit chain was altered behind the gateway's back: seq gap after 41."),
  internal_error: () => new Error('unexpected'),
};

const EXAMPLE_REQUEST_ID = '0c1f6a2e-5b7d-4e3a-9f10-2d8c7b6a5e4f';

/** The answer the gateway makes for a code (status, content type, body), as the OpenAPI document shows it. */
export function problemExample(code: ProblemCode): ProblemAnswer {
  const answer = toProblem(REPRESENTATIVES[code](), EXAMPLE_REQUEST_ID);
  if (answer.body.code !== code || !PROBLEM_CODES[code].status.includes(answer.body.status)) {
    throw new Error(`the representative of ${code} answers ${answer.body.status} ${answer.body.code}`);
  }
  return answer;
}
