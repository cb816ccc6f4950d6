// Square's OpenAPI 3.0 document (spec/api.json) compiled for ajv, with the two repairs its
// SOURCES note calls for: `nullable: true` beside `$ref` becomes anyOf [ref, null] (ajv reads
// `nullable` only beside `type`), and the one schema referenced but never defined
// (CatalogModifierToggleOverrideType) accepts anything. Requests are also checked for fields the
// schema does not name (a misspelt field would otherwise pass, and Square would ignore it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const SPEC = path.join(path.dirname(fileURLToPath(import.meta.url)), 'spec', 'api.json');

type Json = Record<string, unknown>;

function repair(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(repair);
  if (node === null || typeof node !== 'object') return node;
  const o = node as Json;
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) out[k] = repair(v);
  if (typeof out.$ref === 'string' && out.nullable === true) {
    const { $ref, nullable: _n, ...rest } = out;
    return { ...rest, anyOf: [{ $ref }, { type: 'null' }] };
  }
  return out;
}

/** Every object schema that lists properties refuses others (request side only). */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) out[k] = closeObjects(v);
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export interface SquareOperation {
  operationId: string;
  method: string;
  pattern: RegExp;
  query: Array<{ name: string; required: boolean; validate: ValidateFunction }>;
  body: ValidateFunction | null;
  responses: Map<string, ValidateFunction>;
}

export class SquareSpec {
  private readonly operations: SquareOperation[] = [];
  readonly ajv: Ajv;

  constructor(operationIds: readonly string[]) {
    const doc = repair(JSON.parse(fs.readFileSync(SPEC, 'utf8'))) as { paths: Record<string, Record<string, Json>>; components: { schemas: Json } };
    doc.components.schemas.CatalogModifierToggleOverrideType = {};
    this.ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(this.ajv);
    this.ajv.addSchema(doc, 'square');
    // Requests against a closed copy of the schemas (see closeObjects).
    this.ajv.addSchema({ components: closeObjects(doc.components) } as Json, 'square-request');
    const ref = (id: string, schema: unknown) => JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${id}#/`)) as Json;
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!operationIds.includes(op.operationId as string)) continue;
        const params = (op.parameters as Array<{ name: string; in: string; required?: boolean; schema: Json }> | undefined) ?? [];
        const requestBody = op.requestBody as { content: { 'application/json': { schema: Json } } } | undefined;
        const responses = new Map<string, ValidateFunction>();
        for (const [status, r] of Object.entries(op.responses as Record<string, { content?: { 'application/json'?: { schema: Json } } }>)) {
          const schema = r.content?.['application/json']?.schema;
          if (schema) responses.set(status, this.ajv.compile(ref('square', schema)));
        }
        this.operations.push({
          operationId: op.operationId as string,
          method: method.toUpperCase(),
          pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '([^/]+)')}$`),
          query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, required: Boolean(p.required), validate: this.ajv.compile(ref('square', p.schema)) })),
          body: requestBody ? this.ajv.compile(ref('square-request', requestBody.content['application/json'].schema)) : null,
          responses,
        });
      }
    }
    const missing = operationIds.filter((id) => !this.operations.some((o) => o.operationId === id));
    if (missing.length) throw new Error(`not in api.json: ${missing.join(', ')}`);
  }

  match(method: string, pathname: string): SquareOperation | null {
    return this.operations.find((o) => o.method === method && o.pattern.test(pathname)) ?? null;
  }

  /** Problems with a request as Square's errors: { field, detail }. */
  validateRequest(op: SquareOperation, query: URLSearchParams, body: unknown): Array<{ field?: string; detail: string }> {
    const errors: Array<{ field?: string; detail: string }> = [];
    const known = new Set(op.query.map((q) => q.name));
    for (const name of new Set(query.keys())) if (!known.has(name)) errors.push({ field: name, detail: `Unknown query parameter \`${name}\`` });
    for (const q of op.query) {
      const v = query.get(q.name);
      if (v === null) {
        if (q.required) errors.push({ field: q.name, detail: `Missing required parameter \`${q.name}\`` });
      } else if (!q.validate(v)) errors.push({ field: q.name, detail: this.ajv.errorsText(q.validate.errors) });
    }
    if (op.body) {
      if (body === undefined) errors.push({ detail: 'Expected a JSON body' });
      else if (!op.body(body)) for (const e of (op.body.errors ?? []).slice(0, 10)) errors.push({ field: e.instancePath.slice(1).replace(/\//g, '.') || undefined, detail: `${e.instancePath || 'body'} ${e.message ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : ''}` });
    }
    return errors;
  }

  validateResponse(op: SquareOperation, status: number, body: unknown): string[] {
    const v = op.responses.get(String(status)) ?? op.responses.get('default') ?? (status >= 400 ? op.responses.get('200') : undefined);
    if (!v) return [`${op.operationId}: no schema for ${status}`];
    return v(body) ? [] : (v.errors ?? []).slice(0, 10).map((e) => `${op.operationId} ${status}${e.instancePath}: ${e.message ?? 'invalid'}`);
  }

  /** A schema of components.schemas by name (webhook payloads). */
  schema(name: string): ValidateFunction {
    return this.ajv.getSchema(`square#/components/schemas/${name}`)!;
  }
}
