/**
 * The UCI Online Retail layout (InvoiceNo, StockCode, Description, Quantity, InvoiceDate,
 * UnitPrice, CustomerID, Country), read and cleaned as the shared dataset's SOURCE.md describes.
 *
 * Data: Chen, D. (2015). Online Retail [Dataset]. UCI Machine Learning Repository.
 * https://doi.org/10.24432/C5BW33. Licensed under CC BY 4.0.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** One clean purchase line. */
export interface PurchaseLine {
  invoice: string;
  /** Upper-cased stock code: `85114a` and `85114A` are one product. */
  productId: string;
  description: string;
  quantity: number;
  /** Invoice time in epoch ms (the file's times are UK local; read as UTC, which only shifts them). */
  at: number;
  unitPrice: number;
  customerId: string;
  /** Position in the file: keeps the order of lines inside an invoice. */
  line: number;
}

export interface CleaningStats {
  rows: number;
  kept: number;
  customers: number;
  products: number;
  invoices: number;
}

/**
 * Splits one CSV record (RFC 4180 quoting: `"a, b"` and doubled quotes). Descriptions hold commas,
 * so splitting on every comma would shift the columns after them.
 */
export function parseCsvRecord(record: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const ch = record[i]!;
    if (quoted) {
      if (ch === '"') {
        if (record[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/**
 * A product's stock code: five digits with an optional letter suffix (`85123A`, `15056BL`).
 * Postage, discounts, manual lines, fees, gift vouchers and samples (`POST`, `D`, `M`, `DOT`,
 * `AMAZONFEE`, `gift_0001_10`, `DCGS0003`, …) are not products anyone recommends.
 */
export const isProductCode = (code: string): boolean => /^[0-9]{5}[A-Z]{0,2}$/.test(code);

/**
 * SOURCE.md's clean purchase subset, from one parsed row: a known customer, not a cancellation
 * (`C`) or bad-debt adjustment (`A`), a positive quantity and price, and a product code.
 * Returns undefined for a row that is left out.
 */
export function cleanRow(fields: readonly string[], line: number): PurchaseLine | undefined {
  if (fields.length !== 8) return undefined;
  const [invoice, rawCode, description, quantityText, dateText, priceText, customerText] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (customerText === '' || invoice.startsWith('C') || invoice.startsWith('A')) return undefined;
  const quantity = Number(quantityText);
  const unitPrice = Number(priceText);
  if (!(quantity > 0) || !(unitPrice > 0)) return undefined;
  const productId = rawCode.trim().toUpperCase();
  if (!isProductCode(productId)) return undefined;
  const at = Date.parse(`${dateText.replace(' ', 'T')}Z`);
  if (Number.isNaN(at)) return undefined;
  // `17850.0` → `17850`: the Databricks copy writes the customer number as a float.
  const customerId = customerText.replace(/\.0+$/, '');
  return { invoice, productId, description: description.trim(), quantity, at, unitPrice, customerId, line };
}

/**
 * A category for a product that has none in this dataset: the last word of its description, the
 * kind of thing it is (`… T-LIGHT HOLDER` → `HOLDER`, `… LUNCH BAG` → `BAG`). Coarse, but it is
 * what a shop's catalog would give serving's category rules to work with.
 */
export function categoryFromDescription(description: string): string | null {
  const words = description
    .toUpperCase()
    .replace(/[^A-Z0-9 ]+/g, ' ')
    .split(' ')
    .filter((word) => word.length > 1 && !/^[0-9]+$/.test(word));
  return words.at(-1) ?? null;
}

export interface LoadOptions {
  /** Called now and then with the fraction of the file read (by compressed bytes). */
  onProgress?: (fraction: number) => void;
}

/** Reads a gzip or plain CSV in the UCI layout and keeps the clean purchase lines. */
export async function loadOnlineRetail(
  file: string,
  { onProgress }: LoadOptions = {},
): Promise<{ lines: PurchaseLine[]; stats: CleaningStats }> {
  const { size } = await stat(file);
  const raw = createReadStream(file);
  let bytesRead = 0;
  raw.on('data', (chunk) => {
    bytesRead += chunk.length;
  });
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines: PurchaseLine[] = [];
  let rows = 0;
  let header = true;
  for await (const record of createInterface({ input, crlfDelay: Infinity })) {
    if (header) {
      header = false;
      if (!record.startsWith('InvoiceNo,StockCode,'))
        throw new Error(`${file} is not in the UCI Online Retail layout (header: ${record.slice(0, 80)})`);
      continue;
    }
    if (record === '') continue;
    rows++;
    const kept = cleanRow(parseCsvRecord(record), rows);
    if (kept !== undefined) lines.push(kept);
    if (onProgress !== undefined && rows % 20_000 === 0) onProgress(Math.min(1, bytesRead / size));
  }
  onProgress?.(1);
  return {
    lines,
    stats: {
      rows,
      kept: lines.length,
      customers: new Set(lines.map((l) => l.customerId)).size,
      products: new Set(lines.map((l) => l.productId)).size,
      invoices: new Set(lines.map((l) => l.invoice)).size,
    },
  };
}
