// PostgreSQL text cannot hold NUL, and its JSON parser refuses a lone UTF-16 surrogate. A string
// with either passes JSON.parse, so without this check such an event would be accepted and then
// fail its whole batch in the database on every retry, stalling the partition behind it.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSTORABLE_TEXT_MESSAGE = 'must be well-formed Unicode without NUL characters';

export function isStorableText(s: string): boolean {
  return !UNSTORABLE.test(s);
}
