// The channel kinds this build knows, keyed by kind (contract §8). PUT /v1/channels/{id}
// validates `settings` with the kind's schema; the engine creates a connector per active channel.
import type { ChannelKind, ChannelKindDefinition, PublishScope } from './channel-connector.js';
import { customKind } from './custom/custom-kind.js';
import { shopifyKind } from './shopify/shopify-kind.js';
import { posKind } from './pos/pos-kind.js';
import { squareKind } from './square/square-kind.js';
import { amazonKind, amazonKindWith } from './amazon/amazon-kind.js';
import type { PostalLookup } from '../src/routing/postal-code.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each kind has its own settings type
export type AnyKindDefinition = ChannelKindDefinition<any>;

export class ChannelKindRegistry {
  private readonly kinds = new Map<ChannelKind, AnyKindDefinition>();

  constructor(defs: readonly AnyKindDefinition[] = []) {
    for (const d of defs) this.register(d);
  }

  register(def: AnyKindDefinition): this {
    this.kinds.set(def.kind, def);
    return this;
  }

  get(kind: string): AnyKindDefinition | undefined {
    return this.kinds.get(kind as ChannelKind);
  }

  list(): ChannelKind[] {
    return [...this.kinds.keys()].sort();
  }
}

export function scopeOf(def: AnyKindDefinition, settings: unknown): PublishScope {
  return def.scopeFor ? def.scopeFor(settings) : def.scope;
}

/**
 * The kinds shipped with the service. Each connector adds its definition here. `postal`: the
 * merchant's postal-code coordinates (PUT /v1/postal-codes), for marketplace order addresses.
 */
export function builtinKinds(deps: { postal?: PostalLookup } = {}): ChannelKindRegistry {
  return new ChannelKindRegistry([customKind, shopifyKind, posKind, squareKind, deps.postal ? amazonKindWith(deps.postal) : amazonKind]);
}
