import { z } from 'zod';
import { idSchema } from './event.js';
import { amountSchema, storableText } from './text.js';

export const MAX_PRODUCTS_PER_REQUEST = 1000;

/**
 * One product as PUT /products takes it. Every field but productId is optional and has no default:
 * an upsert sets the fields that are sent and keeps the others, so a price feed cannot reset
 * inStock. A product new to the catalog is in stock unless it says otherwise.
 */
export const productSchema = z.strictObject({
  productId: idSchema('productId'),
  category: storableText(z.string().min(1).max(128)).optional(),
  title: storableText(z.string().max(512), { freeText: true }).optional(),
  price: amountSchema.optional(),
  inStock: z.boolean().optional(),
});
export type Product = z.infer<typeof productSchema>;

export interface ProductIssue {
  /** Path inside the request body, e.g. [3, "price"] or ["products", 3, "price"]. */
  path: (string | number)[];
  message: string;
}

export type ParsedProducts = { ok: true; products: Product[] } | { ok: false; tooMany: boolean; issues: ProductIssue[] };

const BODY_SHAPE = 'body must be an array of products or {"products": [...]}';

const rejected = (issues: ProductIssue[], tooMany = false): ParsedProducts => ({ ok: false, tooMany, issues });

/**
 * Normalises an array of products or { products: [...] } to a list and validates every product,
 * collecting every issue with its path (a client fixes a batch in one round trip). Validating item
 * by item, rather than with a union of the two forms, is what lets an answer name the bad field.
 */
export function parseProductsBody(body: unknown): ParsedProducts {
  let items: unknown[];
  let basePath: (string | number)[] = [];
  if (Array.isArray(body)) {
    items = body;
  } else if (body !== null && typeof body === 'object' && 'products' in body) {
    const { products, ...rest } = body as { products: unknown };
    const unknownKeys = Object.keys(rest);
    if (unknownKeys.length > 0) {
      return rejected(unknownKeys.map((key) => ({ path: [key], message: `unknown field; ${BODY_SHAPE}` })));
    }
    if (!Array.isArray(products)) return rejected([{ path: ['products'], message: 'products must be an array' }]);
    items = products;
    basePath = ['products'];
  } else {
    return rejected([{ path: [], message: BODY_SHAPE }]);
  }
  if (items.length === 0) return rejected([{ path: basePath, message: 'at least one product is required' }]);
  if (items.length > MAX_PRODUCTS_PER_REQUEST) {
    return rejected([{ path: basePath, message: `at most ${MAX_PRODUCTS_PER_REQUEST} products per request, got ${items.length}` }], true);
  }
  const issues: ProductIssue[] = [];
  const products: Product[] = [];
  items.forEach((item, index) => {
    const result = productSchema.safeParse(item);
    if (result.success) {
      products.push(result.data);
      return;
    }
    for (const issue of result.error.issues) {
      const path = [...basePath, index, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
      if (issue.code === 'unrecognized_keys') {
        // One issue per unknown field, named in the path like any other bad field.
        for (const key of issue.keys) issues.push({ path: [...path, key], message: 'unknown field' });
      } else {
        issues.push({ path, message: issue.message });
      }
    }
  });
  return issues.length > 0 ? rejected(issues) : { ok: true, products };
}
