import { FieldError, ValidationFailed } from '../common/errors/domain-errors';
import { isValidSiret } from '../partners/siret';
import { checkNir, normaliseNir } from './nir';

/** Who is looked up: by NIR, or by identity pivot (never both). */
export type Subject =
  | { nir: string }
  | { identite: { nom_naissance: string; prenoms: string[]; date_naissance: string; sexe: 'F' | 'M'; code_lieu_naissance?: string } };

/** A validated lookup (DESIGN §3.4): who is looked up, on which date, for whom, why, by which agent. */
export interface LookupRequest {
  subject: Subject;
  dateReference: string;
  recipient: string;
  context?: string;
  object: string;
  agent: string;
}

/**
 * A lookup refused for its input still records every traceability field that was itself valid (DESIGN §5): who
 * (agent), for which case (object, context), for whom (recipient), and the person when the NIR was valid.
 */
export type LookupTraceFields = Partial<Omit<LookupRequest, 'dateReference'>>;

export class InvalidLookup extends ValidationFailed {
  constructor(errors: FieldError[], readonly traceable: LookupTraceFields) {
    super(errors);
  }
}

/** The valid traceability fields of a body, whether or not the lookup as a whole is valid. */
export function traceableFields(body: unknown, today: string): LookupTraceFields {
  try {
    return parseLookupRequest(body, today);
  } catch (error) {
    return error instanceof InvalidLookup ? error.traceable : {};
  }
}

const FIELDS = new Set(['nir', 'identite', 'date_reference', 'recipient', 'context', 'object', 'agent']);
const IDENTITY_FIELDS = new Set(['nom_naissance', 'prenoms', 'date_naissance', 'sexe', 'code_lieu_naissance']);
/** Letters of any language, spaces, apostrophes and hyphens: what a civil-status name may hold. */
const NAME = /^[\p{L}][\p{L}\p{M} '’-]*$/u;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const PLACE = /^(?:\d{5}|2[AB]\d{3})$/;
const TRACE_TEXT = /^[^\u0000-\u001F\u007F<>]+$/;
const AGENT = /^[A-Za-z0-9][A-Za-z0-9._@:+\-/]{0,99}$/;

/** True when the string is a real calendar date (no 2026-02-30). */
export function isCalendarDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return year >= 1800 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function text(body: Record<string, unknown>, field: string, errors: FieldError[], options: {
  required: boolean; max: number; pattern: RegExp; reason: string }): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (options.required) errors.push({ field, reason: 'is required' });
    return undefined;
  }
  if (typeof value !== 'string') {
    errors.push({ field, reason: 'must be a string' });
    return undefined;
  }
  const trimmed = value.trim();
  if (trimmed.length === 0) errors.push({ field, reason: options.required ? 'is required' : 'must not be empty' });
  else if (trimmed.length > options.max) errors.push({ field, reason: `must be at most ${options.max} characters` });
  else if (!options.pattern.test(trimmed)) errors.push({ field, reason: options.reason });
  else return trimmed;
  return undefined;
}

function parseIdentity(value: unknown, today: string, errors: FieldError[]): Subject | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    errors.push({ field: 'identite', reason: 'must be an object' });
    return undefined;
  }
  const identity = value as Record<string, unknown>;
  for (const key of Object.keys(identity)) if (!IDENTITY_FIELDS.has(key)) errors.push({ field: `identite.${key}`, reason: 'unknown field' });
  const before = errors.length;
  const nom = text(identity, 'nom_naissance', errors, { required: true, max: 100, pattern: NAME,
    reason: "must hold only letters, spaces, ' and -" });
  if (errors.length > before) errors[errors.length - 1].field = 'identite.nom_naissance';
  const prenoms: string[] = [];
  if (!Array.isArray(identity.prenoms) || identity.prenoms.length === 0 || identity.prenoms.length > 10) {
    errors.push({ field: 'identite.prenoms', reason: 'must be a list of 1 to 10 first names' });
  } else {
    identity.prenoms.forEach((prenom, index) => {
      if (typeof prenom !== 'string' || prenom.trim().length === 0 || prenom.length > 100 || !NAME.test(prenom.trim())) {
        errors.push({ field: `identite.prenoms.${index}`, reason: "must hold only letters, spaces, ' and -" });
      } else prenoms.push(prenom.trim());
    });
  }
  const birth = identity.date_naissance;
  if (typeof birth !== 'string' || !isCalendarDate(birth)) {
    errors.push({ field: 'identite.date_naissance', reason: birth === undefined ? 'is required' : 'must be a valid date (YYYY-MM-DD)' });
  } else if (birth > today) {
    errors.push({ field: 'identite.date_naissance', reason: 'must not be in the future' });
  }
  const sexe = identity.sexe;
  if (sexe !== 'F' && sexe !== 'M') errors.push({ field: 'identite.sexe', reason: sexe === undefined ? 'is required' : 'must be F or M' });
  const place = identity.code_lieu_naissance;
  if (place !== undefined && (typeof place !== 'string' || !PLACE.test(place.toUpperCase()))) {
    errors.push({ field: 'identite.code_lieu_naissance', reason: 'must be an INSEE code (5 characters, e.g. 75056 or 2A004)' });
  }
  if (errors.length > before || !nom) return undefined;
  return { identite: { nom_naissance: nom, prenoms, date_naissance: birth as string, sexe: sexe as 'F' | 'M',
    ...(typeof place === 'string' ? { code_lieu_naissance: place.toUpperCase() } : {}) } };
}

/**
 * Validates a lookup body against DESIGN §3.4 and normalises it (NIR without spaces, 2a → 2A). Every problem
 * is reported with its field; nothing of the values is echoed (they are personal data).
 * `today` is the current date in Europe/Paris (YYYY-MM-DD).
 */
export function parseLookupRequest(body: unknown, today: string): LookupRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationFailed([{ field: '', reason: 'the body must be a JSON object' }]);
  }
  const input = body as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(input)) if (!FIELDS.has(key)) errors.push({ field: key, reason: 'unknown field' });

  let subject: Subject | undefined;
  const hasNir = input.nir !== undefined && input.nir !== null;
  const hasIdentity = input.identite !== undefined && input.identite !== null;
  if (hasNir && hasIdentity) {
    errors.push({ field: 'nir', reason: 'give either nir or identite, not both' });
  } else if (!hasNir && !hasIdentity) {
    errors.push({ field: 'nir', reason: 'nir or identite is required' });
  } else if (hasNir) {
    if (typeof input.nir !== 'string' || input.nir.length > 30) {
      errors.push({ field: 'nir', reason: 'must be a string of 15 characters' });
    } else {
      const nir = normaliseNir(input.nir);
      const problem = checkNir(nir);
      if (problem === 'format') errors.push({ field: 'nir', reason: 'must be 13 characters (digits, 2A or 2B) and a 2-digit key' });
      else if (problem === 'key') errors.push({ field: 'nir', reason: 'the key does not match the number' });
      else subject = { nir };
    }
  } else {
    subject = parseIdentity(input.identite, today, errors);
  }

  let dateReference = today;
  if (input.date_reference !== undefined && input.date_reference !== null) {
    if (typeof input.date_reference !== 'string' || !isCalendarDate(input.date_reference)) {
      errors.push({ field: 'date_reference', reason: 'must be a valid date (YYYY-MM-DD)' });
    } else if (input.date_reference > today) {
      errors.push({ field: 'date_reference', reason: 'must not be in the future' });
    } else if (input.date_reference < '1945-10-04') {
      errors.push({ field: 'date_reference', reason: 'must not be before the creation of the Sécurité sociale (1945-10-04)' });
    } else dateReference = input.date_reference;
  }

  let recipient: string | undefined;
  if (input.recipient === undefined || input.recipient === null) errors.push({ field: 'recipient', reason: 'is required' });
  else if (!isValidSiret(input.recipient)) errors.push({ field: 'recipient', reason: 'must be a valid SIRET (14 digits, Luhn check)' });
  else recipient = input.recipient;

  const context = text(input, 'context', errors, { required: false, max: 100, pattern: TRACE_TEXT, reason: 'must be plain text' });
  const object = text(input, 'object', errors, { required: true, max: 100, pattern: TRACE_TEXT, reason: 'must be plain text' });
  const agent = text(input, 'agent', errors, { required: true, max: 100, pattern: AGENT,
    reason: 'must be an identifier: letters, digits and . _ @ : + - /' });

  if (errors.length > 0) throw new InvalidLookup(errors, { subject, recipient, context, object, agent });
  return { subject: subject!, dateReference, recipient: recipient!, context, object: object!, agent: agent! };
}
