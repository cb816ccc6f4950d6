import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLines } from './line-stream.js';

async function collect(chunks: Array<Buffer | string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(Readable.from(chunks))) out.push(`${l.number}:${l.text}`);
  return out;
}

describe('readLines', () => {
  it('numbers lines from 1, strips CR, keeps a last line without a break', async () => {
    expect(await collect(['a\r\nb\n', '\nc'])).toEqual(['1:a', '2:b', '3:', '4:c']);
  });
  it('decodes UTF-8 split across chunks', async () => {
    const bytes = Buffer.from('é€\nx\n');
    expect(await collect([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)])).toEqual(['1:é€', '2:x']);
  });
  it('gives the same lines however the bytes are cut', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', 'é', ',', '\r') }), { maxLength: 8 }), fc.array(fc.nat(40), { maxLength: 6 }), async (lines, cuts) => {
      const bytes = Buffer.from(lines.map((l) => `${l}\n`).join(''));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Buffer[] = [];
      let at = 0;
      for (const p of [...points, bytes.length]) {
        if (p > at) chunks.push(bytes.subarray(at, p));
        at = Math.max(at, p);
      }
      expect(await collect(chunks)).toEqual(lines.map((l, i) => `${i + 1}:${l.endsWith('\r') ? l.slice(0, -1) : l}`));
    }));
  });
  it('drops the cut-off last line when the stream fails', async () => {
    const stream = new Readable({ read() {} });
    const seen: string[] = [];
    const done = (async () => {
      for await (const l of readLines(stream)) seen.push(l.text);
    })();
    stream.push('A-1,ams-01,120,2026\nA-2,ams-01,12');
    setImmediate(() => stream.destroy(new Error('aborted')));
    await expect(done).rejects.toThrow('aborted');
    expect(seen).toEqual(['A-1,ams-01,120,2026']);
  });
});
