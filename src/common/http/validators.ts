import { registerDecorator, ValidationOptions } from 'class-validator';
import { isValidSiret } from '../../partners/siret';
import { isScope, SCOPES } from '../../rights/scopes';

export function IsSiret(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isSiret', target: object.constructor, propertyName, options,
      validator: {
        validate: isValidSiret,
        defaultMessage: () => 'must be a valid SIRET (14 digits, Luhn check)',
      },
    });
}

export function IsScope(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isScope', target: object.constructor, propertyName, options,
      validator: {
        validate: isScope,
        defaultMessage: () => `must be one of ${SCOPES.join(', ')}`,
      },
    });
}

/** Letters (any script's), digits, spaces and common punctuation; no control characters or markup. */
export const PLAIN_TEXT = /^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F<>]*$/;
