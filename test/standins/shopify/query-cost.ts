// Shopify's calculated query cost (shopify.dev "API rate limits"): a scalar or enum field costs 0,
// an object 1, a connection 2 plus `first`/`last` times the cost of one node (the node object and
// what is selected under it; pageInfo is not multiplied), a mutation 10;
// and the leaky bucket it is charged to (extensions.cost.throttleStatus).
import {
  getNamedType, isCompositeType, isObjectType, isInterfaceType, Kind, valueFromASTUntyped,
  type DocumentNode, type FragmentDefinitionNode, type GraphQLCompositeType, type GraphQLSchema, type SelectionSetNode,
} from 'graphql';

export function calculateQueryCost(schema: GraphQLSchema, doc: DocumentNode, variables: Record<string, unknown>, operationName?: string): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const op = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName));
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return 0;
  const root = op.operation === 'mutation' ? schema.getMutationType() : schema.getQueryType();
  if (!root) return 0;

  const selectionCost = (set: SelectionSetNode | undefined, parent: GraphQLCompositeType): number => {
    if (!set) return 0;
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        if (t && isCompositeType(t)) total += selectionCost(sel.selectionSet, t);
        continue;
      }
      if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const f = fragments.get(sel.name.value);
        const t = f && schema.getType(f.typeCondition.name.value);
        if (f && t && isCompositeType(t)) total += selectionCost(f.selectionSet, t);
        continue;
      }
      if (!(isObjectType(parent) || isInterfaceType(parent))) continue;
      const def = parent.getFields()[sel.name.value];
      if (!def) continue;
      const named = getNamedType(def.type);
      if (!isCompositeType(named)) continue;
      if (named.name.endsWith('Connection')) {
        const arg = (n: string) => {
          const a = sel.arguments?.find((x) => x.name.value === n);
          return a ? Number(valueFromASTUntyped(a.value, variables) ?? 0) : 0;
        };
        const size = Math.max(arg('first'), arg('last'));
        total += 2 + size * nodeCost(sel.selectionSet, named);
        continue;
      }
      const inner = selectionCost(sel.selectionSet, named);
      if (parent === root && root === schema.getMutationType()) {
        total += 10 + inner;
      } else {
        total += 1 + inner;
      }
    }
    return total;
  };
  // One node of a connection: `nodes { … }` or `edges { node { … } }` (the node object 1 plus its
  // selection); pageInfo and cursors are part of the connection's flat 2, not paid per node.
  const nodeCost = (set: SelectionSetNode | undefined, conn: GraphQLCompositeType): number => {
    if (!set || !(isObjectType(conn) || isInterfaceType(conn))) return 0;
    let worst = 0;
    for (const sel of set.selections) {
      if (sel.kind !== Kind.FIELD || (sel.name.value !== 'nodes' && sel.name.value !== 'edges')) continue;
      const def = conn.getFields()[sel.name.value];
      const named = def && getNamedType(def.type);
      if (!named || !isCompositeType(named)) continue;
      if (sel.name.value === 'nodes') worst = Math.max(worst, 1 + selectionCost(sel.selectionSet, named));
      else if (isObjectType(named)) {
        const node = sel.selectionSet?.selections.find((x) => x.kind === Kind.FIELD && x.name.value === 'node');
        const nodeType = getNamedType(named.getFields().node?.type ?? named);
        if (node && node.kind === Kind.FIELD && isCompositeType(nodeType)) worst = Math.max(worst, 1 + selectionCost(node.selectionSet, nodeType));
      }
    }
    return worst;
  };
  return selectionCost(op.selectionSet, root);
}

export interface ThrottleStatus { maximumAvailable: number; currentlyAvailable: number; restoreRate: number }

/** The leaky bucket: `restoreRate` points come back per second up to `maximumAvailable`. */
export class CostBucket {
  private available: number;
  private at: number;

  constructor(public maximumAvailable: number, public restoreRate: number, private readonly clock: () => number = () => Date.now()) {
    this.available = maximumAvailable;
    this.at = clock();
  }

  private refill(): void {
    const now = this.clock();
    this.available = Math.min(this.maximumAvailable, this.available + ((now - this.at) / 1000) * this.restoreRate);
    this.at = now;
  }

  /** Charges `cost` if the bucket holds it; false means THROTTLED (nothing charged). */
  take(cost: number): boolean {
    this.refill();
    if (cost > this.available) return false;
    this.available -= cost;
    return true;
  }

  status(): ThrottleStatus {
    this.refill();
    return { maximumAvailable: this.maximumAvailable, currentlyAvailable: Math.floor(this.available), restoreRate: this.restoreRate };
  }

  configure(o: { maximumAvailable?: number; restoreRate?: number }): void {
    this.refill();
    if (o.maximumAvailable !== undefined) this.maximumAvailable = o.maximumAvailable;
    if (o.restoreRate !== undefined) this.restoreRate = o.restoreRate;
    this.available = Math.min(this.available, this.maximumAvailable);
  }

  /** Fills the bucket up (a test starting from a rested shop). */
  fill(): void {
    this.refill();
    this.available = this.maximumAvailable;
  }

  drain(): void {
    this.refill();
    this.available = 0;
  }
}
