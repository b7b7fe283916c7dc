import { METHOD_METADATA } from '@nestjs/common/constants';
import { DECORATORS } from '@nestjs/swagger';
import { ProblemCode } from './problem-codes';

export const PROBLEM_CODES_EXTENSION = 'x-problem-codes';

function addCodes(method: object, codes: ProblemCode[]): void {
  const extensions = (Reflect.getMetadata(DECORATORS.API_EXTENSION, method) ?? {}) as Record<string, unknown>;
  const current = (extensions[PROBLEM_CODES_EXTENSION] ?? []) as ProblemCode[];
  Reflect.defineMetadata(DECORATORS.API_EXTENSION, { ...extensions, [PROBLEM_CODES_EXTENSION]: [...new Set([...current, ...codes])] }, method);
}

/**
 * The problem codes a route may answer beyond those every route of its kind does (bodies, parameters, the database:
 * see src/docs/openapi-problems.ts), for the OpenAPI document: each becomes an error response with an example built
 * from the error the code really throws. On a class, it applies to every route of the controller; uses add up.
 */
export function ApiProblems(...codes: ProblemCode[]): ClassDecorator & MethodDecorator {
  return ((target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      addCodes(descriptor.value as object, codes);
      return descriptor;
    }
    const prototype = (target as { prototype: Record<string, unknown> }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name)?.value as object | undefined;
      if (name !== 'constructor' && typeof method === 'function' && Reflect.hasMetadata(METHOD_METADATA, method)) addCodes(method, codes);
    }
    return undefined;
  }) as ClassDecorator & MethodDecorator;
}
