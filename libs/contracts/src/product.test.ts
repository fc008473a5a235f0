import { describe, expect, it } from 'vitest';
import { MAX_PRODUCTS_PER_REQUEST, productsBodySchema, productsOf } from './product.js';

const buildProduct = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  productId: 'p17',
  category: 'shoes',
  title: 'Trail runner',
  price: 89.5,
  ...overrides,
});

const many = (count: number) => Array.from({ length: count }, (_, i) => buildProduct({ productId: `p${i}` }));

const pathsOf = (body: unknown) => {
  const result = productsBodySchema.safeParse(body);
  if (result.success) throw new Error('expected the body to be rejected');
  return result.error.issues.map((issue) => issue.path);
};

describe('productsBodySchema', () => {
  it('accepts an array of products', () => {
    const body = productsBodySchema.parse([buildProduct(), buildProduct({ productId: 'p18' })]);
    expect(productsOf(body).map((product) => product.productId)).toEqual(['p17', 'p18']);
  });

  it('accepts {products: [...]}', () => {
    const body = productsBodySchema.parse({ products: [buildProduct()] });
    expect(productsOf(body)).toEqual([{ ...buildProduct(), inStock: true }]);
  });

  it('when inStock is absent, the product is in stock', () => {
    expect(productsOf(productsBodySchema.parse([{ productId: 'p1' }]))).toEqual([{ productId: 'p1', inStock: true }]);
  });

  it('keeps inStock false when given', () => {
    expect(productsOf(productsBodySchema.parse([buildProduct({ inStock: false })]))[0]?.inStock).toBe(false);
  });

  it(`accepts ${MAX_PRODUCTS_PER_REQUEST} products and rejects ${MAX_PRODUCTS_PER_REQUEST + 1}`, () => {
    expect(productsBodySchema.safeParse(many(MAX_PRODUCTS_PER_REQUEST)).success).toBe(true);
    expect(productsBodySchema.safeParse(many(MAX_PRODUCTS_PER_REQUEST + 1)).success).toBe(false);
    expect(productsBodySchema.safeParse({ products: many(MAX_PRODUCTS_PER_REQUEST + 1) }).success).toBe(false);
  });

  it('rejects an empty list', () => {
    expect(productsBodySchema.safeParse([]).success).toBe(false);
    expect(productsBodySchema.safeParse({ products: [] }).success).toBe(false);
  });

  it('rejects a product without productId or with one outside the id alphabet', () => {
    expect(productsBodySchema.safeParse([{ category: 'shoes' }]).success).toBe(false);
    expect(productsBodySchema.safeParse([buildProduct({ productId: 'p 17' })]).success).toBe(false);
  });

  it('rejects a negative price and a non-boolean inStock', () => {
    expect(productsBodySchema.safeParse([buildProduct({ price: -1 })]).success).toBe(false);
    expect(productsBodySchema.safeParse([buildProduct({ inStock: 'yes' })]).success).toBe(false);
  });

  it('rejects unknown fields on a product and beside "products"', () => {
    expect(productsBodySchema.safeParse([buildProduct({ colour: 'red' })]).success).toBe(false);
    expect(productsBodySchema.safeParse({ products: [buildProduct()], replaceAll: true }).success).toBe(false);
  });

  it('names the bad field of the bad product', () => {
    const paths = pathsOf([buildProduct(), buildProduct({ price: -1 })]).flat();
    expect(paths).toEqual(expect.arrayContaining([1, 'price']));
  });

  it('rejects a single product object that is not wrapped in a list', () => {
    expect(productsBodySchema.safeParse(buildProduct()).success).toBe(false);
  });
});
