export * from './stock.js';
export * from './reservations.js';
