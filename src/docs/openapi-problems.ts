import type { OpenAPIObject, OperationObject, ReferenceObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { PROBLEM_CODES_EXTENSION } from '../common/errors/api-problems';
import { PROBLEM_CODES, ProblemCode } from '../common/errors/problem-codes';
import { problemExample } from './problem-examples';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** Routes that answer without the database (liveness, metrics, the keys, the cached status) cannot be refused for it. */
const WITHOUT_DATABASE = new Set(['/health/live', '/metrics', '/.well-known/jwks.json', '/v1/status', '/health/ready']);

/**
 * What every route of a kind may answer, beyond what its decorators say (@ApiProblems, the auth decorators): a body
 * can be invalid, malformed, of the wrong type or too large; query parameters can be invalid; an unknown id is a 404;
 * a route that writes or reads the trail's database answers 503 audit_unavailable while it cannot reach it; and any
 * route may fail unexpectedly.
 */
export function implicitProblems(path: string, operation: OperationObject): ProblemCode[] {
  const codes: ProblemCode[] = ['internal_error'];
  if (operation.requestBody) codes.push('invalid_request', 'malformed_body', 'unsupported_media_type', 'payload_too_large');
  const parameters = (operation.parameters ?? []) as { in?: string }[];
  if (parameters.some((parameter) => parameter.in === 'query')) codes.push('invalid_request');
  if (/\{id\}/.test(path)) codes.push('not_found');
  if (!WITHOUT_DATABASE.has(path)) codes.push('audit_unavailable');
  return codes;
}

/** The codes a documented operation may answer: its own (x-problem-codes) and those of its kind. */
export function problemCodesOf(path: string, operation: OperationObject): ProblemCode[] {
  const own = ((operation as unknown as Record<string, unknown>)[PROBLEM_CODES_EXTENSION] ?? []) as ProblemCode[];
  return [...new Set([...own, ...implicitProblems(path, operation)])];
}

/**
 * Documents every error of every route (DESIGN §3.4's problem+json): one response per status, listing its codes, with
 * an example per code that is the answer the gateway really makes for it (src/docs/problem-examples.ts), and the
 * codes kept as `x-problem-codes` for programs. Also gives each request body an example assembled from its schema's
 * property examples, when it has none.
 */
export function documentProblems(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const codes = problemCodesOf(path, operation);
      (operation as unknown as Record<string, unknown>)[PROBLEM_CODES_EXTENSION] = codes;
      const byStatus = new Map<number, ProblemCode[]>();
      for (const code of codes) {
        const status = problemExample(code).body.status;
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      for (const [status, statusCodes] of byStatus) {
        const content: Record<string, { schema: ReferenceObject; examples: Record<string, { summary: string; value: unknown }> }> = {};
        for (const code of statusCodes) {
          const example = problemExample(code);
          content[example.contentType] ??= { schema: { $ref: '#/components/schemas/Problem' }, examples: {} };
          content[example.contentType].examples[code] = { summary: PROBLEM_CODES[code].meaning, value: example.body };
        }
        operation.responses[status] = { description: statusCodes.map((code) => `\`${code}\``).join(', '), content };
      }
      const body = operation.requestBody as { content?: Record<string, { schema?: SchemaObject | ReferenceObject; example?: unknown }> } | undefined;
      for (const media of Object.values(body?.content ?? {})) {
        if (media.example === undefined && media.schema) media.example = exampleOf(media.schema, document);
      }
    }
  }
}

/** An example value assembled from a schema's own examples (properties, items, enums), following references. */
export function exampleOf(schema: SchemaObject | ReferenceObject, document: OpenAPIObject, depth = 0): unknown {
  if ('$ref' in schema) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    return exampleOf(document.components!.schemas![name], document, depth + 1);
  }
  if (schema.example !== undefined) return schema.example;
  if (depth > 8) return undefined;
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((part) => exampleOf(part, document, depth + 1)));
  if (schema.type === 'object' || schema.properties) {
    const value: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      const example = exampleOf(property, document, depth + 1);
      if (example !== undefined) value[name] = example;
    }
    return value;
  }
  if (schema.type === 'array' && schema.items) {
    const item = exampleOf(schema.items, document, depth + 1);
    return item === undefined ? undefined : [item];
  }
  if (schema.enum?.length) return schema.enum[0];
  return undefined;
}
