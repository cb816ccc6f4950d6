// Shopify's published Admin GraphQL schema (2025-01 introspection, from Shopify/dev-mcp, ISC, see
// LICENSE.dev-mcp.txt) plus, by hand, only what API version 2026-04 added and the file lacks:
// `changeFromQuantity` on InventoryQuantityInput, the `@idempotent(key:)` directive and the
// user-error codes that came with them. Every request the stand-in answers is validated against it.
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

const SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'admin_schema_2025-01.json.gz');

interface IntrospectionTypeJson {
  name: string;
  kind: string;
  inputFields?: Array<Record<string, unknown>> | null;
  enumValues?: Array<Record<string, unknown>> | null;
}

let cached: GraphQLSchema | undefined;

/** The 2025-01 schema with the 2026-04 inventory additions; built once per process (about 1 s). */
export function shopifyAdminSchema(): GraphQLSchema {
  if (cached) return cached;
  const json = JSON.parse(gunzipSync(fs.readFileSync(SCHEMA_FILE)).toString('utf8')) as { data: IntrospectionQuery };
  const schema = json.data.__schema as unknown as { types: IntrospectionTypeJson[]; directives: Array<Record<string, unknown>> };
  const type = (name: string) => {
    const t = schema.types.find((x) => x.name === name);
    if (!t) throw new Error(`Shopify schema has no type ${name}`);
    return t;
  };
  // 2026-04: "The current quantity to be compared against the persisted quantity"; mandatory to pass (even null).
  type('InventoryQuantityInput').inputFields!.push({
    name: 'changeFromQuantity',
    description: 'The current quantity to be compared against the persisted quantity (2026-04).',
    type: { kind: 'SCALAR', name: 'Int', ofType: null },
    defaultValue: null,
    isDeprecated: false,
    deprecationReason: null,
  });
  for (const code of ['CHANGE_FROM_QUANTITY_STALE', 'IDEMPOTENCY_CONCURRENT_REQUEST', 'IDEMPOTENCY_KEY_PARAMETER_MISMATCH']) {
    type('InventorySetQuantitiesUserErrorCode').enumValues!.push({ name: code, description: null, isDeprecated: false, deprecationReason: null });
  }
  schema.directives.push({
    name: 'idempotent',
    description: 'Makes a mutation idempotent by key (2026-01 optional, 2026-04 required on inventory mutations).',
    isRepeatable: false,
    locations: ['FIELD'],
    args: [{ name: 'key', description: null, type: { kind: 'NON_NULL', name: null, ofType: { kind: 'SCALAR', name: 'String', ofType: null } }, defaultValue: null, isDeprecated: false, deprecationReason: null }],
  });
  cached = buildClientSchema(json.data, { assumeValid: false });
  return cached;
}
