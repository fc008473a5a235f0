import { z } from 'zod';
import { idSchema } from './event.js';

export const MAX_PRODUCTS_PER_REQUEST = 1000;

export const productSchema = z.strictObject({
  productId: idSchema('productId'),
  category: z.string().min(1).max(128).optional(),
  title: z.string().max(512).optional(),
  price: z.number().nonnegative().finite().optional(),
  inStock: z.boolean().default(true),
});
export type Product = z.infer<typeof productSchema>;

/** PUT /products accepts an array of products or { products: [...] }. */
export const productsBodySchema = z.union([
  z.array(productSchema).min(1).max(MAX_PRODUCTS_PER_REQUEST),
  z.strictObject({ products: z.array(productSchema).min(1).max(MAX_PRODUCTS_PER_REQUEST) }),
]);
export type ProductsBody = z.infer<typeof productsBodySchema>;

export const productsOf = (body: ProductsBody): Product[] => (Array.isArray(body) ? body : body.products);
