import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { categoryFromDescription, cleanRow, isProductCode, loadOnlineRetail, parseCsvRecord } from './dataset.js';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const row = (overrides: Partial<Record<'invoice' | 'code' | 'description' | 'quantity' | 'date' | 'price' | 'customer', string>> = {}) => {
  const r = {
    invoice: '536365',
    code: '85123A',
    description: 'WHITE HANGING HEART T-LIGHT HOLDER',
    quantity: '6',
    date: '2010-12-01 08:26:00',
    price: '2.55',
    customer: '17850.0',
    ...overrides,
  };
  return [r.invoice, r.code, r.description, r.quantity, r.date, r.price, r.customer, 'United Kingdom'];
};

describe('parseCsvRecord', () => {
  it('keeps a quoted description with commas in one field', () => {
    expect(
      parseCsvRecord('536520,21123,"SET/10 IVORY POLKADOT PARTY CANDLES, BOXED",1,2010-12-01 12:43:00,1.25,14729.0,United Kingdom'),
    ).toEqual([
      '536520',
      '21123',
      'SET/10 IVORY POLKADOT PARTY CANDLES, BOXED',
      '1',
      '2010-12-01 12:43:00',
      '1.25',
      '14729.0',
      'United Kingdom',
    ]);
  });

  it('reads a doubled quote inside quotes as one quote', () => {
    expect(parseCsvRecord('a,"say ""hi""",b')).toEqual(['a', 'say "hi"', 'b']);
  });
});

describe('cleanRow', () => {
  it('keeps a purchase line, upper-casing the stock code and dropping the float suffix of the customer', () => {
    const line = cleanRow(row({ code: '85114a' }), 7);
    expect(line).toMatchObject({ invoice: '536365', productId: '85114A', customerId: '17850', quantity: 6, line: 7 });
    expect(line?.at).toBe(Date.parse('2010-12-01T08:26:00Z'));
  });

  it.each([
    ['no customer', { customer: '' }],
    ['a cancellation', { invoice: 'C536379' }],
    ['a bad-debt adjustment', { invoice: 'A563185' }],
    ['a returned quantity', { quantity: '-1' }],
    ['a zero price', { price: '0' }],
    ['postage', { code: 'POST' }],
    ['a gift voucher', { code: 'gift_0001_10' }],
  ])('leaves out %s', (_what, overrides) => {
    expect(cleanRow(row(overrides), 1)).toBeUndefined();
  });

  it('tells product codes from service codes', () => {
    expect(['85123A', '22423', '15056BL'].every(isProductCode)).toBe(true);
    expect(['POST', 'D', 'M', 'DOT', 'AMAZONFEE', 'BANK CHARGES', 'C2', 'DCGS0003'].some(isProductCode)).toBe(false);
  });
});

describe('categoryFromDescription', () => {
  it('takes the last word, the kind of thing', () => {
    expect(categoryFromDescription('WHITE HANGING HEART T-LIGHT HOLDER')).toBe('HOLDER');
    expect(categoryFromDescription('LUNCH BAG RED RETROSPOT')).toBe('RETROSPOT');
    expect(categoryFromDescription('SET OF 3 CAKE TINS PANTRY DESIGN ')).toBe('DESIGN');
    expect(categoryFromDescription('')).toBeNull();
  });
});

describe('loadOnlineRetail', () => {
  it('reads a gzip file in the layout and keeps only the clean purchase lines', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lambdarec-eval-'));
    const file = path.join(dir, 'retail.csv.gz');
    const body = [HEADER, row(), row({ invoice: 'C1' }), row({ code: '22423', description: '"REGENCY CAKESTAND, 3 TIER"' })].map((r) =>
      Array.isArray(r) ? r.join(',') : r,
    );
    await writeFile(file, gzipSync(`${body.join('\n')}\n`));
    const { lines, stats } = await loadOnlineRetail(file);
    expect(stats).toEqual({ rows: 3, kept: 2, customers: 1, products: 2, invoices: 1 });
    expect(lines[1]?.description).toBe('REGENCY CAKESTAND, 3 TIER');
  });

  it('refuses a file in another layout, saying so', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lambdarec-eval-'));
    const file = path.join(dir, 'other.csv');
    await writeFile(file, 'a,b,c\n1,2,3\n');
    await expect(loadOnlineRetail(file)).rejects.toThrow(/not in the UCI Online Retail layout/);
  });

  const shared = fileURLToPath(new URL('../../../../shared/datasets/online-retail/online_retail.csv.gz', import.meta.url));
  it.runIf(existsSync(shared))(
    "cleans the shared dataset to SOURCE.md's clean purchase subset",
    async () => {
      const { stats } = await loadOnlineRetail(shared);
      expect(stats).toEqual({ rows: 541_909, kept: 396_337, customers: 4_334, products: 3_659, invoices: 18_402 });
      // Half a million rows: about 2 s alone, more beside other test processes on two cores.
    },
    60_000,
  );
});
