import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { FieldError, ValidationFailed } from '../errors/domain-errors';

const PRIMITIVES = new Set<unknown>([String, Number, Boolean, Array, Object]);

/**
 * Validates bodies and query strings against their DTO class: unknown fields are refused, every problem
 * is reported with its field path (`organisation.siret`, `scopes.1`).
 */
@Injectable()
export class DtoValidationPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const type = metadata.metatype;
    if ((metadata.type !== 'body' && metadata.type !== 'query') || !type || PRIMITIVES.has(type)) return value;
    return validateDto(type as new () => object, value, metadata.type);
  }
}

export function validateDto<T extends object>(type: new () => T, value: unknown, where = 'body'): T {
  if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationFailed([{ field: '', reason: `the ${where} must be a JSON object` }]);
  }
  const instance = plainToInstance(type, value, { exposeDefaultValues: true });
  const errors = validateSync(instance, {
    whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, stopAtFirstError: true,
    validationError: { target: false, value: true },
  });
  if (errors.length > 0) throw new ValidationFailed(flatten(errors));
  return instance;
}

function flatten(errors: ValidationError[], prefix = ''): FieldError[] {
  const result: FieldError[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.value === undefined && error.constraints && !('whitelistValidation' in error.constraints)) {
      result.push({ field, reason: 'is required' });
      continue;
    }
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      result.push({
        field,
        reason: constraint === 'whitelistValidation' ? 'unknown field' : message.replace(`${error.property} `, ''),
      });
    }
    if (error.children?.length) result.push(...flatten(error.children, field));
  }
  return result;
}
