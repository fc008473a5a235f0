/* global document, window, fetch, location, sessionStorage, crypto, setTimeout, URLSearchParams, AbortSignal */
// The storefront page's behaviour, without a build step: what the shopper does goes to ingest
// (POST /events, CORS), and "Recommended for you" is fetched again from the storefront server
// until the speed layer's answer shows the change, without reloading the page.
'use strict';

const settings = JSON.parse(document.getElementById('storefront-settings').textContent);
const panel = document.querySelector('[data-panel="recommended"]');
const toast = document.getElementById('toast');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Event ids make a retried post count once; randomUUID exists only in secure contexts (https,
// localhost), and without one ingest assigns the id.
const newId = () => (typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : undefined);

function sessionId() {
  let id = sessionStorage.getItem('lrec_session');
  if (id === null) {
    id = `s-${newId() ?? Date.now().toString(36) + Math.random().toString(36).slice(2)}`;
    sessionStorage.setItem('lrec_session', id);
  }
  return id;
}

let toastTimer;
function say(message, kind = 'info') {
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.classList.add('shown');
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => toast.classList.remove('shown'), 2500);
}

/** Posts one event; a 503 or a network error is retried once with the same eventId. */
async function postEvent({ type, productId, category, price }) {
  const event = { eventId: newId(), userId: settings.shopper, sessionId: sessionId(), type, productId };
  if (category) event.category = category;
  if ((type === 'purchase' || type === 'add_to_cart') && price !== undefined && price !== '') event.value = Number(price);
  const headers = { 'content-type': 'application/json' };
  if (settings.writeKey) headers['x-write-key'] = settings.writeKey;
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await fetch(`${settings.ingestUrl}/events`, {
        method: 'POST',
        mode: 'cors',
        headers,
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(5000),
      });
    } catch (err) {
      if (attempt < 2) continue;
      throw err;
    }
    if (res.status === 202) return;
    if (res.status === 503 && attempt < 2) {
      await sleep(500);
      continue;
    }
    throw new Error(`ingest answered ${res.status}`);
  }
}

let refreshes = 0;
let latestRefresh = 0;
/**
 * Fetches the panel again. After an action the speed layer needs a moment: ask a few times, a
 * little longer apart, until the list changes (or give up quietly; the list may not change).
 */
async function refreshRecommendations({ untilChanged }) {
  const mine = ++latestRefresh;
  const query = new URLSearchParams({ shopper: settings.shopper });
  if (settings.product) query.set('exclude', settings.product.productId);
  const delays = untilChanged ? [100, 250, 500, 1000, 2000, 4000] : [0];
  const before = panel.textContent;
  panel.setAttribute('aria-busy', 'true');
  try {
    for (const delay of delays) {
      await sleep(delay);
      if (mine !== latestRefresh) return;
      const res = await fetch(`/fragments/recommended?${query}`, { headers: { accept: 'text/html' } }).catch(() => undefined);
      if (res === undefined || !res.ok) continue;
      const markup = await res.text();
      if (mine !== latestRefresh) return;
      const next = document.createElement('template');
      next.innerHTML = markup;
      if (untilChanged && next.content.textContent === before) continue;
      panel.replaceChildren(next.content);
      break;
    }
  } finally {
    if (mine === latestRefresh) {
      panel.removeAttribute('aria-busy');
      panel.dataset.refreshes = String(++refreshes);
    }
  }
}

const WORDS = { add_to_cart: (title) => `${title} is in your cart.`, purchase: (title) => `Thank you! ${title} is yours.` };

async function act(button) {
  const { action, productId, category, price, title } = button.dataset;
  // Disabled only until ingest has the event: a double click must not buy twice.
  button.disabled = true;
  try {
    await postEvent({ type: action, productId, category, price });
  } catch {
    say('The shop could not record that; please try again.', 'error');
    return;
  } finally {
    button.disabled = false;
  }
  say(WORDS[action](title || productId));
  await refreshRecommendations({ untilChanged: true });
}

document.addEventListener('click', (e) => {
  const button = e.target.closest('button[data-action]');
  if (button !== null) {
    void act(button);
    return;
  }
  const link = e.target.closest('a.product-link');
  // Plain left clicks only: a new tab or window keeps the browser's own behaviour.
  if (link === null || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  const click = postEvent({ type: 'click', productId: link.dataset.productId, category: link.dataset.category }).catch(() => undefined);
  // The click should reach ingest, but a slow ingest must not hold the shopper for long.
  void Promise.race([click, sleep(800)]).then(() => location.assign(link.href));
});

document.getElementById('shopper-switch').addEventListener('change', (e) => {
  settings.shopper = e.target.value;
  document.cookie = `lrec_shopper=${encodeURIComponent(settings.shopper)}; path=/; max-age=31536000; SameSite=Lax`;
  say(`Now shopping as ${settings.shopper}.`);
  void refreshRecommendations({ untilChanged: false });
});

if (settings.product) {
  const { productId, category } = settings.product;
  postEvent({ type: 'view', productId, category })
    .then(() => refreshRecommendations({ untilChanged: true }))
    .catch(() => say('The shop could not record this visit.', 'error'));
}
document.body.dataset.ready = 'true';
