import { describe, expect, it } from 'vitest';
import { decideStoreAction, STORE_ACTIONS, STORE_ORDER_STATUSES } from './store-order.js';

describe('store order actions', () => {
  it('walks a pickup order new → picked → packed → ready → handed over, fulfilling at the end', () => {
    expect(decideStoreAction('pickup', 'new', 'pick')).toEqual({ kind: 'apply', to: 'picked', fulfils: false });
    expect(decideStoreAction('pickup', 'picked', 'pack')).toEqual({ kind: 'apply', to: 'packed', fulfils: false });
    expect(decideStoreAction('pickup', 'packed', 'ready')).toEqual({ kind: 'apply', to: 'ready', fulfils: false });
    expect(decideStoreAction('pickup', 'ready', 'hand-over')).toEqual({ kind: 'apply', to: 'handed_over', fulfils: true });
  });

  it('ships a ship order from packed, and fulfils', () => {
    expect(decideStoreAction('ship', 'packed', 'ship')).toEqual({ kind: 'apply', to: 'shipped', fulfils: true });
  });

  it('forbids skipping steps and the other method\'s actions', () => {
    expect(decideStoreAction('ship', 'new', 'pack').kind).toBe('forbidden');
    expect(decideStoreAction('ship', 'packed', 'ready').kind).toBe('forbidden');
    expect(decideStoreAction('pickup', 'packed', 'ship').kind).toBe('forbidden');
    expect(decideStoreAction('pickup', 'handed_over', 'pick').kind).toBe('forbidden');
  });

  it('treats a repeated action as already done', () => {
    expect(decideStoreAction('pickup', 'picked', 'pick')).toEqual({ kind: 'already', to: 'picked' });
  });

  it('fulfils only on shipped or handed over, from any status', () => {
    for (const m of ['ship', 'pickup'] as const) {
      for (const s of STORE_ORDER_STATUSES) {
        for (const a of STORE_ACTIONS) {
          const d = decideStoreAction(m, s, a);
          if (d.kind === 'apply') expect(d.fulfils).toBe(d.to === 'shipped' || d.to === 'handed_over');
        }
      }
    }
  });
});
