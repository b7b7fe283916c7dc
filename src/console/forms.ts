import { FieldError, ValidationFailed } from '../common/errors/domain-errors';
import { validateDto } from '../common/http/validation.pipe';

/** A posted form: every field a string, or a list of strings when repeated (checkboxes). */
export type FormBody = Record<string, string | string[] | undefined>;

export const text = (body: FormBody, name: string): string | undefined => {
  const value = body[name];
  const single = Array.isArray(value) ? value[0] : value;
  return single === undefined || single.trim() === '' ? undefined : single.trim();
};

export const list = (body: FormBody, name: string): string[] => {
  const value = body[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

/**
 * Validates a form against the API's own DTO (the same rules as the JSON route): the valid object, or the field
 * errors by field name for the page to show beside each field.
 */
export function validateForm<T extends object>(type: new () => T, values: Record<string, unknown>):
  { ok: true; value: T } | { ok: false; errors: Record<string, string> } {
  try {
    return { ok: true, value: validateDto(type, values) };
  } catch (error) {
    if (!(error instanceof ValidationFailed)) throw error;
    return { ok: false, errors: fieldErrors(error.errors) };
  }
}

/** The first reason per field, in French where the rule is known. */
export function fieldErrors(errors: FieldError[]): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const { field, reason } of errors) byField[field.split('.')[0]] ??= french(reason);
  return byField;
}

const FRENCH: [RegExp, string][] = [
  [/^is required$/, 'Ce champ est obligatoire.'],
  [/must be plain text/, 'Texte simple uniquement (pas de balises).'],
  [/longer than or equal to (\d+)/, 'Trop court : au moins $1 caractères.'],
  [/shorter than or equal to (\d+)/, 'Trop long : au plus $1 caractères.'],
  [/must not be less than (\d+)/, 'Doit valoir au moins $1.'],
  [/must not be greater than (\d+)/, 'Doit valoir au plus $1.'],
  [/integer number/, 'Doit être un nombre entier.'],
  [/ISO 8601/, 'Doit être une date et une heure.'],
  [/may only narrow the requested scopes/, 'Seules les catégories demandées peuvent être accordées.'],
  [/must not be in the past/, 'Ne peut pas être dans le passé : une maintenance est annoncée à l\'avance.'],
  [/must be after start/, 'Doit être après le début.'],
  [/at most 7 days/, 'Une maintenance dure au plus 7 jours.'],
  [/must be a valid NIR/, 'Ce NIR n\'est pas valide (13 chiffres et une clé de 2 chiffres).'],
  [/must contain at least 1 elements/, 'Cochez au moins une case.'],
  [/must be an https:\/\/ URL|must be an absolute https/, 'Doit être une adresse https:// complète.'],
  [/resolves to (\S+), a (\w+) address/, 'Cette adresse mène à $1, une adresse non publique : refusée (protection contre les requêtes détournées).'],
  [/^(\S+), a (\w+) address/, 'Cette adresse ($1) n\'est pas publique : refusée (protection contre les requêtes détournées).'],
  [/does not resolve/, 'Ce nom de domaine est introuvable.'],
  [/must not carry credentials/, "L'adresse ne doit pas contenir d'identifiants : la signature authentifie la passerelle."],
];

function french(reason: string): string {
  for (const [pattern, message] of FRENCH) {
    const match = pattern.exec(reason);
    if (match) return message.replace('$1', match[1] ?? '');
  }
  return reason;
}
