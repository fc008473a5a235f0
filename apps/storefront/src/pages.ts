import type { CategorySummary, ListedProduct } from '@lambdarec/stores';
import { html, jsonForScript, type SafeHtml } from './html.js';
import type { ShownItem, ShownList } from './shop.js';

/** What the page script needs from the server; read from a JSON block, never from globals. */
export interface PageSettings {
  /** Ingest's public base URL: the browser posts events there. */
  ingestUrl: string;
  /** Sent as X-Write-Key when ingest wants one. */
  writeKey?: string | undefined;
  shopper: string;
  /** The product this page shows: its view is posted on load, and recommendations leave it out. */
  product?: { productId: string; category: string | null; price: number | null } | undefined;
}

export interface Frame {
  title: string;
  settings: PageSettings;
  shoppers: readonly string[];
  categories: readonly CategorySummary[];
  activeCategory?: string | undefined;
  main: SafeHtml;
  recommended: ShownList;
}

const SHOP_NAME = 'lambdarec demo shop';
const price = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'EUR' });

export const productPath = (productId: string) => `/products/${encodeURIComponent(productId)}`;
export const categoryPath = (category: string) => `/categories/${encodeURIComponent(category)}`;
const titleOf = (product: ListedProduct) => product.title ?? product.productId;

/**
 * A stable colour per category, so a category's placeholder pictures look alike; steps of the
 * golden angle keep neighbouring hashes apart on the colour wheel.
 */
const hueOf = (category: string | null) =>
  Math.round(([...(category ?? '')].reduce((hash, char) => (hash * 31 + char.codePointAt(0)!) % 10_007, 7) * 137.508) % 360);

const initials = (title: string) =>
  title
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .slice(0, 2)
    .map((word) => [...word][0]!.toUpperCase())
    .join('');

const picture = (product: ListedProduct, size: 'small' | 'large' = 'small') =>
  html`<div class="picture ${size}" style="--hue: ${hueOf(product.category)}" aria-hidden="true">${initials(titleOf(product))}</div>`;

/** Buttons that post an event from the page; sold-out products have none. */
const actions = (product: ListedProduct) =>
  product.inStock
    ? html`<div class="actions">${(['add_to_cart', 'purchase'] as const).map(
        (type) =>
          html`<button type="button" data-action="${type}" data-product-id="${product.productId}" data-category="${product.category ?? ''}" data-price="${product.price ?? ''}" data-title="${titleOf(product)}">${type === 'purchase' ? 'Buy now' : 'Add to cart'}</button>`,
      )}</div>`
    : html`<p class="sold-out">Sold out</p>`;

const productLink = (product: ListedProduct, body: SafeHtml) =>
  html`<a class="product-link" href="${productPath(product.productId)}" data-product-id="${product.productId}" data-category="${product.category ?? ''}">${body}</a>`;

const meta = (product: ListedProduct) =>
  html`<p class="meta">${product.category ?? 'uncategorised'}${product.price === null ? '' : html` · <span class="price">${price.format(product.price)}</span>`}</p>`;

export const productCard = (product: ListedProduct, reasons?: readonly string[]) =>
  html`<li class="card" data-product-id="${product.productId}" data-category="${product.category ?? ''}">
  ${productLink(product, html`${picture(product)}<span class="title">${titleOf(product)}</span>`)}
  ${meta(product)}
  ${reasons !== undefined && reasons.length > 0 && html`<ul class="reasons">${reasons.map((reason) => html`<li>${reason}</li>`)}</ul>`}
  ${actions(product)}
</li>`;

const DEGRADED_NOTES: Record<string, string> = {
  serving: 'Recommendations are unavailable right now.',
  session: 'What you did in this visit is not taken into account right now.',
  batch: 'Showing popular products while the shop catches up.',
};

/** Which answer the list shows: the page script names it in the list's impression and in actions on its items. */
const answerAttributes = ({ recommendationId, userId }: ShownList) =>
  recommendationId === undefined ? '' : html` data-recommendation-id="${recommendationId}" data-user-id="${userId ?? ''}"`;

const shownList = (list: ShownList, empty: string) =>
  html`${list.degraded.map((part) => html`<p class="note" data-degraded="${part}">${DEGRADED_NOTES[part] ?? ''}</p>`)}
${list.items.length === 0 ? html`<p class="empty">${empty}</p>` : html`<ol class="items"${answerAttributes(list)}>${list.items.map((item: ShownItem) => productCard(item.product, item.reasons))}</ol>`}`;

/** The inside of the "Recommended for you" panel: rendered with the page, and again after each action. */
export const recommendedFragment = (list: ShownList) => shownList(list, 'Nothing to recommend yet: have a look around.');

export const similarFragment = (list: ShownList) => shownList(list, 'No similar items known yet.');

export function renderPage({ title, settings, shoppers, categories, activeCategory, main, recommended }: Frame): string {
  const choices = shoppers.includes(settings.shopper) ? shoppers : [settings.shopper, ...shoppers];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${SHOP_NAME}</title>
<link rel="stylesheet" href="/assets/storefront.css">
<script id="storefront-settings" type="application/json">${jsonForScript(settings)}</script>
<script type="module" src="/assets/storefront.js"></script>
</head>
<body>
<header class="top">
  <a class="brand" href="/">${SHOP_NAME}</a>
  <label class="shopper">Shopping as
    <select id="shopper-switch" name="shopper">${choices.map(
      (id) => html`<option value="${id}"${id === settings.shopper ? html` selected` : ''}>${id}</option>`,
    )}</select>
  </label>
</header>
<nav class="categories" aria-label="Categories">
  <a href="/"${activeCategory === undefined ? html` aria-current="page"` : ''}>All</a>
  ${categories.map(
    ({ category, products }) =>
      html`<a href="${categoryPath(category)}" data-category="${category}"${category === activeCategory ? html` aria-current="page"` : ''}>${category} <small>${products}</small></a>`,
  )}
</nav>
<div class="page">
  <main>${main}</main>
  <aside>
    <section id="recommended" aria-labelledby="recommended-title">
      <h2 id="recommended-title">Recommended for you</h2>
      <div data-panel="recommended" aria-live="polite">${recommendedFragment(recommended)}</div>
    </section>
  </aside>
</div>
<div id="toast" role="status" aria-live="polite"></div>
</body>
</html>
`.markup;
}

export const shopMain = (heading: string, products: readonly ListedProduct[]) =>
  html`<h1>${heading}</h1>
${products.length === 0 ? html`<p class="empty">No products here yet.</p>` : html`<ul class="grid">${products.map((product) => productCard(product))}</ul>`}`;

export const productMain = (product: ListedProduct, similar: ShownList) =>
  html`<article class="product" data-product-id="${product.productId}">
  ${picture(product, 'large')}
  <div class="details">
    ${product.category !== null && html`<p class="crumbs"><a href="${categoryPath(product.category)}">${product.category}</a></p>`}
    <h1>${titleOf(product)}</h1>
    ${product.price !== null && html`<p class="price">${price.format(product.price)}</p>`}
    ${actions(product)}
  </div>
</article>
<section id="similar" aria-labelledby="similar-title">
  <h2 id="similar-title">Similar items</h2>
  ${similarFragment(similar)}
</section>`;

export const notFoundMain = (what: string) =>
  html`<h1>Not found</h1>
<p class="empty">${what} is not in this shop. <a href="/">Back to all products</a></p>`;
