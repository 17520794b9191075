/**
 * Strict request validation for the KME's routes, compiled from the same TypeBox schemas `/openapi.json`
 * publishes (TypeBox's TypeCompiler; Fastify's default Ajv would coerce `{"number":"2"}` to 2 and strip
 * unknown fields silently). JSON bodies are checked exactly as sent: no type coercion, no defaults, no
 * removal — an unknown field, a string where an integer belongs, a float, are all 400. Query strings are
 * text, so only there a parameter declared integer is converted, and only from plain decimal digits
 * (`1e3`, `0x10`, `+8`, `08` stay strings and fail); a repeated parameter is refused.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

/** A validation failure Fastify turns into a 400 (`err.validation` is set by Fastify). */
function failure(where: string, message: string): { error: Error } {
  return { error: new Error(`${where}${message}`) };
}

const DECIMAL = /^(0|[1-9][0-9]{0,14})$/;

function integerProperties(schema: TSchema): Set<string> {
  const props = (schema as { properties?: Record<string, { type?: string }> }).properties ?? {};
  return new Set(Object.entries(props).flatMap(([k, v]) => (v.type === 'integer' ? [k] : [])));
}

/** The validator compiler of the KME's routes (`app.setValidatorCompiler`). */
export const strictValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const ints = httpPart === 'querystring' ? integerProperties(schema) : new Set<string>();
  const part = httpPart ?? 'body';
  return (data: unknown) => {
    let value = data;
    if (part === 'body' && value === undefined) value = {}; // no body: every 014 body field is optional
    if (part === 'querystring' && value && typeof value === 'object') {
      const q: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (Array.isArray(v)) return failure('querystring/', `${k} is repeated`);
        q[k] = ints.has(k) && typeof v === 'string' && DECIMAL.test(v) ? Number(v) : v;
      }
      value = q;
    }
    if (check.Check(value)) return { value };
    const e = check.Errors(value).First();
    const path = e?.path ? e.path.replace(/^\//, '') : '';
    if (e && e.message === 'Unexpected property')
      return failure(`${part}/`, `${path}: unknown ${part === 'querystring' ? 'parameter' : 'field'}`);
    return failure(`${part}${path ? `/${path}` : ''} `, e?.message ?? 'is invalid');
  };
};
