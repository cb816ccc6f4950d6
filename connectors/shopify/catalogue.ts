// Shopify inventory items matched to our SKUs by the variant's SKU (contract §8): kept in the
// channel's durable state so that a restart does not need a pull before the first push.
import { SKU_PATTERN } from '../../src/core/ids.js';
import type { ConnectorState } from '../channel-connector.js';

export const numOf = (gidValue: string): number => Number(/\/(\d+)(?:\?.*)?$/.exec(gidValue)?.[1] ?? NaN);

export class Catalogue {
  private readonly bySku = new Map<string, number>();
  private readonly byItem = new Map<number, string>();

  constructor(private readonly state: ConnectorState) {}

  get size(): number {
    return this.bySku.size;
  }

  async load(): Promise<void> {
    const raw = await this.state.get('catalogue');
    if (!raw) return;
    for (const [item, sku] of JSON.parse(raw) as Array<[number, string]>) this.add(item, sku);
  }

  async save(): Promise<void> {
    await this.state.set('catalogue', JSON.stringify([...this.byItem.entries()]));
  }

  add(itemNum: number, sku: string): void {
    const old = this.byItem.get(itemNum);
    if (old !== undefined && old !== sku) this.bySku.delete(old);
    this.byItem.set(itemNum, sku);
    this.bySku.set(sku, itemNum);
  }

  itemOf(sku: string): number | undefined {
    return this.bySku.get(sku);
  }

  skuOf(itemNum: number): string | undefined {
    return this.byItem.get(itemNum);
  }

  /** Items from a full read: SKUs of ours that are unique match; the rest are reasons to quarantine. */
  static match(items: ReadonlyArray<{ itemNum: number; sku: string | null }>): { matched: Map<number, string>; unmatched: Array<{ itemNum: number; sku: string | null; reason: string }> } {
    const count = new Map<string, number>();
    for (const i of items) if (i.sku) count.set(i.sku, (count.get(i.sku) ?? 0) + 1);
    const matched = new Map<number, string>();
    const unmatched: Array<{ itemNum: number; sku: string | null; reason: string }> = [];
    for (const i of items) {
      if (!i.sku) unmatched.push({ ...i, reason: 'variant has no SKU' });
      else if (!SKU_PATTERN.test(i.sku)) unmatched.push({ ...i, reason: `SKU ${JSON.stringify(i.sku)} cannot be one of ours (^[A-Za-z0-9._/-]{1,64}$)` });
      else if ((count.get(i.sku) ?? 0) > 1) unmatched.push({ ...i, reason: `SKU ${i.sku} is on ${count.get(i.sku)} Shopify variants` });
      else matched.set(i.itemNum, i.sku);
    }
    return { matched, unmatched };
  }

  replace(matched: Map<number, string>): void {
    this.bySku.clear();
    this.byItem.clear();
    for (const [item, sku] of matched) this.add(item, sku);
  }
}
