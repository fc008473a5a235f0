import { describe, expect, it } from 'vitest';
import { MAX_PRODUCTS_PER_REQUEST, parseProductsBody, type ParsedProducts, type Product, type ProductIssue } from './product.js';

const buildProduct = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  productId: 'p17',
  category: 'shoes',
  title: 'Trail runner',
  price: 89.5,
  ...overrides,
});

const many = (count: number) => Array.from({ length: count }, (_, i) => buildProduct({ productId: `p${i}` }));

const acceptedProducts = (result: ParsedProducts): Product[] => {
  if (!result.ok) throw new Error(`expected the body to be accepted, got ${JSON.stringify(result.issues)}`);
  return result.products;
};

const issuesOf = (result: ParsedProducts): ProductIssue[] => {
  if (result.ok) throw new Error('expected the body to be rejected');
  return result.issues;
};

const pathsOf = (body: unknown) => issuesOf(parseProductsBody(body)).map((issue) => issue.path);

describe('parseProductsBody', () => {
  it('accepts an array of products, keeping their order', () => {
    const products = acceptedProducts(parseProductsBody([buildProduct(), buildProduct({ productId: 'p18' })]));
    expect(products.map((product) => product.productId)).toEqual(['p17', 'p18']);
  });

  it('accepts {products: [...]}', () => {
    expect(acceptedProducts(parseProductsBody({ products: [buildProduct()] }))).toEqual([buildProduct()]);
  });

  it('adds no default: a product without inStock (or any other optional field) stays without it', () => {
    expect(acceptedProducts(parseProductsBody([{ productId: 'p1' }]))).toEqual([{ productId: 'p1' }]);
    expect(acceptedProducts(parseProductsBody([{ productId: 'p1', price: 9 }]))[0]).not.toHaveProperty('inStock');
  });

  it('keeps inStock false and true when given', () => {
    const products = acceptedProducts(parseProductsBody([buildProduct({ inStock: false }), buildProduct({ inStock: true })]));
    expect(products.map((product) => product.inStock)).toEqual([false, true]);
  });

  it(`accepts ${MAX_PRODUCTS_PER_REQUEST} products and rejects ${MAX_PRODUCTS_PER_REQUEST + 1} as too many, in both forms`, () => {
    expect(acceptedProducts(parseProductsBody(many(MAX_PRODUCTS_PER_REQUEST)))).toHaveLength(MAX_PRODUCTS_PER_REQUEST);
    expect(parseProductsBody(many(MAX_PRODUCTS_PER_REQUEST + 1))).toEqual({
      ok: false,
      tooMany: true,
      issues: [{ path: [], message: `at most ${MAX_PRODUCTS_PER_REQUEST} products per request, got ${MAX_PRODUCTS_PER_REQUEST + 1}` }],
    });
    const wrapped = parseProductsBody({ products: many(MAX_PRODUCTS_PER_REQUEST + 1) });
    expect(wrapped).toMatchObject({ ok: false, tooMany: true, issues: [{ path: ['products'] }] });
  });

  it('rejects an empty list in both forms, naming where', () => {
    expect(parseProductsBody([])).toEqual({
      ok: false,
      tooMany: false,
      issues: [{ path: [], message: 'at least one product is required' }],
    });
    expect(issuesOf(parseProductsBody({ products: [] }))).toEqual([{ path: ['products'], message: 'at least one product is required' }]);
  });

  it.each([
    ['a single product object not wrapped in a list', buildProduct()],
    ['null', null],
    ['a string', 'p17'],
    ['a number', 17],
    ['an empty object', {}],
  ])('rejects %s with a message naming the accepted shapes', (_what, body) => {
    expect(issuesOf(parseProductsBody(body))).toEqual([{ path: [], message: 'body must be an array of products or {"products": [...]}' }]);
  });

  it('rejects {products: ...} when products is not an array', () => {
    expect(issuesOf(parseProductsBody({ products: { productId: 'p1' } }))).toEqual([
      { path: ['products'], message: 'products must be an array' },
    ]);
  });

  it('in an array, names a type error by index, e.g. [0, "price"]', () => {
    expect(issuesOf(parseProductsBody([{ productId: 'p1', price: 'abc' }]))).toEqual([
      { path: [0, 'price'], message: 'Invalid input: expected number, received string' },
    ]);
  });

  it('in the wrapped form, names a type error under "products", e.g. ["products", 0, "inStock"]', () => {
    expect(issuesOf(parseProductsBody({ products: [{ productId: 'p1', inStock: 'no' }] }))).toEqual([
      { path: ['products', 0, 'inStock'], message: 'Invalid input: expected boolean, received string' },
    ]);
  });

  it('collects every issue of every product in one answer, accepting none of the batch', () => {
    const body = [buildProduct({ price: -1 }), buildProduct(), buildProduct({ productId: 'p 17', inStock: 'yes' }), { category: 'shoes' }];
    expect(parseProductsBody(body).ok).toBe(false);
    expect(pathsOf(body)).toEqual([
      [0, 'price'],
      [2, 'productId'],
      [2, 'inStock'],
      [3, 'productId'],
    ]);
  });

  it('rejects a product without productId or with one outside the id alphabet', () => {
    expect(pathsOf([{ category: 'shoes' }, buildProduct({ productId: 'p/17' }), buildProduct({ productId: 'p'.repeat(129) })])).toEqual([
      [0, 'productId'],
      [1, 'productId'],
      [2, 'productId'],
    ]);
  });

  it('rejects an empty category, a title over 512 characters and a non-finite or negative price; accepts price 0', () => {
    expect(pathsOf([buildProduct({ category: '' }), buildProduct({ title: 't'.repeat(513) }), buildProduct({ price: -0.01 })])).toEqual([
      [0, 'category'],
      [1, 'title'],
      [2, 'price'],
    ]);
    expect(parseProductsBody([buildProduct({ price: 0 })]).ok).toBe(true);
  });

  it('rejects null for an optional field: leaving a field out is how to keep it', () => {
    expect(pathsOf([buildProduct({ category: null })])).toEqual([[0, 'category']]);
  });

  it('rejects unknown fields on a product, naming each one (strict)', () => {
    expect(issuesOf(parseProductsBody([buildProduct({ colour: 'red', size: 42 })]))).toEqual([
      { path: [0, 'colour'], message: 'unknown field' },
      { path: [0, 'size'], message: 'unknown field' },
    ]);
    expect(pathsOf({ products: [buildProduct({ colour: 'red' })] })).toEqual([['products', 0, 'colour']]);
  });

  it('rejects unknown fields beside "products"', () => {
    expect(issuesOf(parseProductsBody({ products: [buildProduct()], replaceAll: true }))).toEqual([
      { path: ['replaceAll'], message: 'unknown field; body must be an array of products or {"products": [...]}' },
    ]);
  });
});
