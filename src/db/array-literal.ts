// PostgreSQL array literals built here rather than by the driver: node-postgres escapes every
// element of a JavaScript array through a generic path (type checks, a regex replace per
// element), which cost the reconciler's thread more than the server spent parsing the result.
// The literal goes in as one text parameter and is cast in SQL ($1::text[], $2::int8[]).

const NEEDS_ESCAPE = /["\\]/;
const ESCAPE_ALL = /["\\]/g;

/**
 * `{"a","b",NULL}`: every string quoted, so empty strings, spaces, braces and "NULL" stay text;
 * null is SQL NULL.
 */
export function textArrayLiteral(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (i > 0) out += ',';
    out += v === null ? 'NULL' : '"' + (NEEDS_ESCAPE.test(v) ? v.replace(ESCAPE_ALL, '\\$&') : v) + '"';
  }
  return out + '}';
}

/** `{1,-2,NULL}` for finite numbers (integers for int columns, any finite value for float8) and nulls. */
export function numberArrayLiteral(values: ReadonlyArray<number | null>): string {
  let nulls = false;
  for (const v of values) {
    if (v === null) nulls = true;
    else if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
  }
  return `{${nulls ? values.map((v) => (v === null ? 'NULL' : v)).join(',') : values.join(',')}}`;
}
