// Great-circle geometry for routing (contract §7: "sum of great-circle distances").
//
// API
//   EARTH_RADIUS_KM                         mean Earth radius (IUGG), 6371.0088 km
//   haversineKm(a: GeoPoint, b: GeoPoint): number        distance in km, full precision
//   toRadians(deg: number): number
//   haversineRad(lat1, lon1, cosLat1, lat2, lon2, cosLat2): number
//       the same formula on pre-converted radians (+ cos of the latitudes), for hot loops;
//       haversineKm is defined through it, so both give bit-identical results.
//   isValidLatitude(x) / isValidLongitude(x) / isValidPoint(p)   finite, lat −90..90, lon −180..180
//   coordinateError(p, field): string | null    message naming the field, or null when valid
//   assertValidPoint(p, field): void            throws RangeError(coordinateError(...))
//
// Pure: no I/O. Distances are returned unrounded; presentation layers may round.

export interface GeoPoint {
  lat: number;
  lon: number;
}

export const EARTH_RADIUS_KM = 6371.0088;

const DEG = Math.PI / 180;

export function toRadians(deg: number): number {
  return deg * DEG;
}

export function haversineRad(
  lat1: number,
  lon1: number,
  cosLat1: number,
  lat2: number,
  lon2: number,
  cosLat2: number,
): number {
  const sDLat = Math.sin((lat2 - lat1) / 2);
  const sDLon = Math.sin((lon2 - lon1) / 2);
  const h = sDLat * sDLat + cosLat1 * cosLat2 * sDLon * sDLon;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, h)));
}

export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const lat1 = toRadians(a.lat);
  const lat2 = toRadians(b.lat);
  return haversineRad(lat1, toRadians(a.lon), Math.cos(lat1), lat2, toRadians(b.lon), Math.cos(lat2));
}

export function isValidLatitude(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= -90 && x <= 90;
}

export function isValidLongitude(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= -180 && x <= 180;
}

export function isValidPoint(p: unknown): p is GeoPoint {
  if (typeof p !== 'object' || p === null) return false;
  const q = p as { lat?: unknown; lon?: unknown };
  return isValidLatitude(q.lat) && isValidLongitude(q.lon);
}

/** A message naming the offending field (`destination.lat`), or null when `p` is a valid point. */
export function coordinateError(p: unknown, field: string): string | null {
  if (typeof p !== 'object' || p === null) return `${field} must be an object { lat, lon }`;
  const q = p as { lat?: unknown; lon?: unknown };
  if (!isValidLatitude(q.lat)) return `${field}.lat must be a number between -90 and 90`;
  if (!isValidLongitude(q.lon)) return `${field}.lon must be a number between -180 and 180`;
  return null;
}

export function assertValidPoint(p: unknown, field: string): asserts p is GeoPoint {
  const err = coordinateError(p, field);
  if (err !== null) throw new RangeError(err);
}
