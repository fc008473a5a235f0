/* global document, window, location, sessionStorage, crypto, fetch, setTimeout, URLSearchParams, IntersectionObserver */
// The storefront page's behaviour, without a build step of its own: what the shopper does goes to
// ingest through @lambdarec/client (batched, retried with the same eventIds, sent on the way out
// of the page), and "Recommended for you" is fetched again from the storefront server until the
// speed layer's answer shows the change, without reloading the page.
import { createLambdarecClient } from './lambdarec-client.js';

const settings = JSON.parse(document.getElementById('storefront-settings').textContent);
const panel = document.querySelector('[data-panel="recommended"]');
const toast = document.getElementById('toast');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Events the client gave up on (refused, or ingest out of reach after its retries), by eventId. */
const undelivered = new Set();
// A shopper waits on a button until its event is in: a few quick retries, not the default minutes.
const lambdarec = createLambdarecClient({
  ingestUrl: settings.ingestUrl,
  writeKey: settings.writeKey,
  requestTimeoutMs: 5000,
  maxRetries: 2,
  retryMaxDelayMs: 2000,
  onError: (_error, events) => events.forEach((event) => undelivered.add(event.eventId)),
});

function sessionId() {
  let id = sessionStorage.getItem('lrec_session');
  if (id === null) {
    // randomUUID exists only in secure contexts (https, localhost).
    id = `s-${typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)}`;
    sessionStorage.setItem('lrec_session', id);
  }
  return id;
}

/**
 * The answer a list on the page shows, as the server rendered it (data-recommendation-id on the
 * list): enough for the impression and for clicks on its items. Lists without an id (similar
 * items, an older serving) answer undefined.
 */
function shownAnswer(list) {
  if (list === null || list.dataset.recommendationId === undefined) return undefined;
  const items = [...list.querySelectorAll(':scope > li.card')].map((card) => ({
    productId: card.dataset.productId,
    category: card.dataset.category || null,
  }));
  return { userId: list.dataset.userId || settings.shopper, recommendationId: list.dataset.recommendationId, items };
}

/** What links an action to the recommendation it was taken on, when it was taken on one. */
function attributionOf(element) {
  const answer = shownAnswer(element.closest('ol[data-recommendation-id]'));
  if (answer === undefined) return {};
  const position = answer.items.findIndex((item) => item.productId === element.closest('li.card')?.dataset.productId);
  return position < 0 ? {} : { recommendationId: answer.recommendationId, position };
}

let toastTimer;
function say(message, kind = 'info') {
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.classList.add('shown');
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => toast.classList.remove('shown'), 2500);
}

/** Tracks one event and waits until ingest has it; throws when the client gave it up. */
async function postEvent({ type, productId, category, price, attribution = {} }) {
  const event = { userId: settings.shopper, sessionId: sessionId(), type, productId, ...attribution };
  if (category) event.category = category;
  if ((type === 'purchase' || type === 'add_to_cart') && price !== undefined && price !== '') event.value = Number(price);
  const { eventId } = lambdarec.track(event);
  await lambdarec.flush();
  if (undelivered.has(eventId)) throw new Error('ingest did not take the event');
}

// Each list once, when its top item is at least half on screen: a list rendered below the fold
// and never scrolled to was not seen. A refreshed panel is a new answer with a new id.
const impressed = new Set();
const listSeen = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      listSeen.unobserve(entry.target);
      const answer = shownAnswer(entry.target.closest('ol[data-recommendation-id]'));
      if (answer === undefined || impressed.has(answer.recommendationId)) continue;
      impressed.add(answer.recommendationId);
      lambdarec.trackImpression(answer, { sessionId: sessionId() });
    }
  },
  { threshold: 0.5 },
);

function watchRecommendedList() {
  const firstCard = panel.querySelector('ol[data-recommendation-id] > li.card');
  if (firstCard !== null) listSeen.observe(firstCard);
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
      watchRecommendedList();
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
    await postEvent({ type: action, productId, category, price, attribution: attributionOf(button) });
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
  const click = postEvent({
    type: 'click',
    productId: link.dataset.productId,
    category: link.dataset.category,
    attribution: attributionOf(link),
  }).catch(() => undefined);
  // The click should reach ingest, but a slow ingest must not hold the shopper for long: what is
  // still queued when the page goes leaves with the client's keepalive request.
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
watchRecommendedList();
document.body.dataset.ready = 'true';
