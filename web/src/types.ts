// Shapes the app reads from the API (see /docs).
export interface User { id: string; name: string; role: 'staff' | 'manager' | 'admin'; locationIds: string[] }
export interface Session { user: User; csrfToken: string }
export interface Location { id: string; name: string; type: string; active: boolean }
export interface StockRow {
  locationId: string; name: string; type: string; onHand: number; reserved: number; unavailable: number; safetyStock: number;
  atp: number; active: boolean; oversold: boolean; countRequested: boolean; distanceKm: number | null;
}
export interface StockLookup {
  sku: string; network: { onHand: number; reserved: number; unavailable: number; atp: number }; from: string | null;
  locations: StockRow[];
  nearest: Array<{ locationId: string; name: string; distanceKm: number; atp: number; pickup: boolean; shipFromStore: boolean }>;
}
export interface LedgerItem {
  id: number; eventId: string; kind: string; locationId: string; occurredAt: string; recordedAt: string; countQuantity: number | null;
  onHandDelta: number; unavailableDelta: number; missingDelta: number; reservedDelta: number; source: string | null; reason: string | null; reservationId: string | null;
}
export interface QueueLine { lineNo: number; sku: string; quantity: number; state: string; reroutedTo?: Array<{ locationId: string; quantity: number }> }
export interface QueueOrder {
  reservationId: string; orderRef: string | null; channel: string; method: 'ship' | 'pickup'; status: string; createdAt: string; promisedBy: string;
  reservationStatus: string; expiresAt: string | null; lines: QueueLine[];
}
export interface IngestResult { accepted: number; duplicates: number; rejected: Array<{ index: number; error: string }> }
export const canCorrect = (u: User) => u.role === 'manager' || u.role === 'admin';
