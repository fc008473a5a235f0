import { randomUUID } from 'node:crypto';
import type { ClickEvent, Product } from '@lambdarec/contracts';

/** A valid event with every field set; override what the test is about. */
export const buildClickEvent = (overrides: Partial<ClickEvent> = {}): ClickEvent => ({
  eventId: randomUUID(),
  userId: 'u-1',
  sessionId: 's-1',
  type: 'view',
  productId: 'p-1',
  category: 'shoes',
  timestamp: new Date().toISOString(),
  ...overrides,
});

export const buildProduct = (overrides: Partial<Product> = {}): Product => ({
  productId: 'p-1',
  category: 'shoes',
  title: 'Trail runner',
  price: 89.9,
  inStock: true,
  ...overrides,
});
