// PostgreSQL array literals built here rather than by the driver: node-postgres escapes every
// element of a JavaScript array through a generic path (type checks, a regex replace per
// element), which cost the reconciler's thread more than the server spent parsing the result.
// The literal goes in as one text parameter and is cast in SQL ($1::text[], $2::int8[]).

const NEEDS_ESCAPE = /["\\]/;
const ESCAPE_ALL = /["\\]/g;

/** `{"a","b"}`: every element quoted, so empty strings, spaces, braces and "NULL" stay text. */
export function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out += (i === 0 ? '"' : ',"') + (NEEDS_ESCAPE.test(v) ? v.replace(ESCAPE_ALL, '\\$&') : v) + '"';
  }
  return out + '}';
}

/** `{1,-2,3}` for finite numbers (integers for int columns, any finite value for float8). */
export function numberArrayLiteral(values: readonly number[]): string {
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
  return `{${values.join(',')}}`;
}
