// Swagger 2.0 (the SP-API models) as a request router and validator: every request the stand-in
// serves is matched to an operation of the published model and checked against it (path, query
// and header parameters, body), and every answer it gives is checked against that operation's
// response schema for the status, with ajv. An off-spec request is refused as SP-API refuses
// one (400 InvalidInput); an off-spec answer is a bug of the stand-in and is recorded.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
export const SPEC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'spec');

interface SwaggerParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'body' | 'formData';
  required?: boolean;
  type?: string;
  items?: Record<string, unknown>;
  collectionFormat?: 'csv' | 'ssv' | 'tsv' | 'pipes' | 'multi';
  schema?: Record<string, unknown>;
  [k: string]: unknown;
}

export interface Operation {
  operationId: string;
  method: string;
  template: string;
  pattern: RegExp;
  pathParams: string[];
  parameters: SwaggerParameter[];
  /** Rate and burst from the model's usage-plan table. */
  rate: { perSecond: number; burst: number };
  responseValidators: Map<string, ValidateFunction>;
  paramValidators: Map<string, ValidateFunction>;
  bodyValidator: ValidateFunction | null;
}

export interface RequestParts {
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function newAjv(): Ajv {
  // strict off: the models carry vendor keywords (x-docgen-…, example) that are not JSON Schema.
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  for (const f of ['int32', 'int64', 'double', 'float']) ajv.addFormat(f, true);
  return ajv;
}

const HEADER_PARAMS_IGNORED = new Set(['content-type', 'accept']);
const RATE_ROW = /\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|/;

export class SwaggerModel {
  readonly operations: Operation[] = [];

  constructor(readonly ajv: Ajv, file: string) {
    const doc = JSON.parse(fs.readFileSync(path.join(SPEC_DIR, file), 'utf8')) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const id = path.basename(file, '.json');
    ajv.addSchema(doc as object, id);
    for (const [template, item] of Object.entries(doc.paths)) {
      const shared = (item.parameters as SwaggerParameter[] | undefined) ?? [];
      for (const [method, raw] of Object.entries(item)) {
        if (method === 'parameters') continue;
        const op = raw as { operationId: string; description?: string; parameters?: SwaggerParameter[]; responses: Record<string, { schema?: unknown }> };
        const parameters = [...shared, ...(op.parameters ?? [])];
        const rate = RATE_ROW.exec(op.description ?? '');
        if (!rate) throw new Error(`${op.operationId}: no usage plan in the model`);
        const pathParams: string[] = [];
        const pattern = new RegExp(`^${template.replace(/\{(\w+)\}/g, (_m, name: string) => {
          pathParams.push(name);
          return '([^/]+)';
        })}$`);
        const responseValidators = new Map<string, ValidateFunction>();
        for (const [status, r] of Object.entries(op.responses)) {
          if (r.schema) responseValidators.set(status, ajv.compile(rewriteRefs(r.schema, id)));
        }
        const paramValidators = new Map<string, ValidateFunction>();
        let bodyValidator: ValidateFunction | null = null;
        for (const p of parameters) {
          if (p.in === 'body') bodyValidator = ajv.compile(rewriteRefs(p.schema, id));
          else paramValidators.set(`${p.in}:${p.name}`, ajv.compile(paramSchema(p)));
        }
        this.operations.push({
          operationId: op.operationId, method: method.toUpperCase(), template, pattern, pathParams, parameters,
          rate: { perSecond: Number(rate[1]), burst: Number(rate[2]) }, responseValidators, paramValidators, bodyValidator,
        });
      }
    }
  }

  match(method: string, pathname: string): { op: Operation; params: Record<string, string> } | null {
    for (const op of this.operations) {
      if (op.method !== method) continue;
      const m = op.pattern.exec(pathname);
      if (!m) continue;
      const params: Record<string, string> = {};
      op.pathParams.forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]!); });
      return { op, params };
    }
    return null;
  }

  /** Problems with a request, as SP-API would word them; empty when it follows the model. */
  validateRequest(op: Operation, pathParams: Record<string, string>, req: RequestParts): string[] {
    const errors: string[] = [];
    const known = new Set(op.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(req.query.keys())) if (!known.has(name)) errors.push(`query parameter ${name} is not part of ${op.operationId}`);
    for (const p of op.parameters) {
      if (p.in === 'body') {
        if (req.body === undefined) {
          if (p.required) errors.push('body: required');
        } else if (!op.bodyValidator!(req.body)) {
          errors.push(...describe('body', op.bodyValidator!));
        }
        continue;
      }
      let raw: string | string[] | undefined;
      if (p.in === 'path') raw = pathParams[p.name];
      else if (p.in === 'query') raw = req.query.getAll(p.name).length > 1 ? req.query.getAll(p.name) : req.query.get(p.name) ?? undefined;
      else if (p.in === 'header') {
        if (HEADER_PARAMS_IGNORED.has(p.name.toLowerCase())) continue;
        raw = req.headers[p.name.toLowerCase()];
      }
      if (raw === undefined || raw === '') {
        if (p.required) errors.push(`${p.in} parameter ${p.name}: required`);
        continue;
      }
      const value = coerce(p, raw);
      const v = op.paramValidators.get(`${p.in}:${p.name}`)!;
      if (!v(value)) errors.push(...describe(`${p.in} parameter ${p.name}`, v));
    }
    return errors;
  }

  validateResponse(op: Operation, status: number, body: unknown): string[] {
    const v = op.responseValidators.get(String(status)) ?? op.responseValidators.get('default');
    if (!v) return body === undefined ? [] : [`${op.operationId}: the model defines no body for status ${status}`];
    return v(body) ? [] : describe(`${op.operationId} ${status} response`, v);
  }
}

/** Swagger 2.0 parameter (non-body) → JSON Schema of its value. */
function paramSchema(p: SwaggerParameter): Record<string, unknown> {
  const keys = ['type', 'format', 'enum', 'items', 'maxItems', 'minItems', 'minimum', 'maximum', 'maxLength', 'minLength', 'pattern', 'uniqueItems'];
  const s: Record<string, unknown> = {};
  for (const k of keys) if (p[k] !== undefined) s[k] = p[k];
  return s;
}

/** Query strings carry text: make numbers, booleans and arrays (csv by default in Swagger 2.0) what the schema expects. */
function coerce(p: SwaggerParameter, raw: string | string[]): unknown {
  const scalar = (type: unknown, s: string): unknown => {
    if (type === 'integer' || type === 'number') return s.trim() !== '' && !Number.isNaN(Number(s)) ? Number(s) : s;
    if (type === 'boolean') return s === 'true' ? true : s === 'false' ? false : s;
    return s;
  };
  if (p.type === 'array') {
    const sep = { csv: ',', ssv: ' ', tsv: '\t', pipes: '|', multi: null }[p.collectionFormat ?? 'csv'];
    const parts = Array.isArray(raw) ? raw : sep === null ? [raw] : raw.split(sep);
    return parts.map((x) => scalar(p.items?.type, x));
  }
  return scalar(p.type, Array.isArray(raw) ? raw[0]! : raw);
}

/** `#/definitions/X` inside the model → `<id>#/definitions/X`, so a fragment compiles on its own. */
export function rewriteRefs(schema: unknown, id: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, `"$ref":"${id}#/`)) as Record<string, unknown>;
}

export function describe(where: string, v: ValidateFunction): string[] {
  return (v.errors ?? []).slice(0, 10).map((e) => `${where}${e.instancePath.replace(/\//g, '.')}: ${e.message ?? 'invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}
