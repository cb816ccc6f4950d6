// What a consumer of an at-least-once log may see: the items in a seeded shuffle, some
// delivered again, cut into batches of the given sizes (cycled). Shared by the pure fold's
// property test and the ledger writer's.
export function shuffledBatches<T>(items: readonly T[], redeliver: readonly number[], seed: number, sizes: readonly number[]): T[][] {
  const delivery = [...items, ...(items.length === 0 ? [] : redeliver.map((i) => items[i % items.length]!))];
  let s = seed >>> 0;
  for (let i = delivery.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [delivery[i], delivery[j]] = [delivery[j]!, delivery[i]!];
  }
  const out: T[][] = [];
  for (let i = 0, b = 0; i < delivery.length; b++) {
    const size = sizes[b % sizes.length]!;
    out.push(delivery.slice(i, i + size));
    i += size;
  }
  return out;
}
