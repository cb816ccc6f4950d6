// Lines of a byte stream, one at a time, holding no more than the current chunk. The last line
// is yielded only when the stream ended normally: a request cut off mid-row must not turn
// "120" into a count of "12". (readline flushes its remainder however the input stopped.)
import { StringDecoder } from 'node:string_decoder';

export interface Line {
  /** 1-based line number in the file. */
  number: number;
  /** Without its line break (`\n` or `\r\n`). */
  text: string;
}

/** Longest line accepted; a longer one is yielded cut short, which fails validation (no count row is near this). */
export const MAX_LINE_CHARS = 64 * 1024;

export async function* readLines(stream: AsyncIterable<Buffer | string>, onBytes?: (n: number) => void): AsyncGenerator<Line> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let number = 0;
  for await (const chunk of stream) {
    onBytes?.(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      number += 1;
      yield { number, text: trimCr(text.slice(start, Math.min(nl, start + MAX_LINE_CHARS))) };
      start = nl + 1;
    }
    carry = text.slice(start);
    // A "line" that never ends would grow without bound: keep only what validation can use.
    if (carry.length > MAX_LINE_CHARS) carry = carry.slice(0, MAX_LINE_CHARS);
  }
  carry += decoder.end();
  if (carry.length > 0) yield { number: number + 1, text: trimCr(carry) };
}

function trimCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}
