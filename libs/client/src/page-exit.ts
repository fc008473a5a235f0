/**
 * The browser page's lifecycle, as far as the client needs it: when the page is hidden or left,
 * queued events must leave at once, since a timer may never fire again. Typed structurally, so
 * that the package needs no DOM types and tests can pass a fake page.
 */

interface ListenerTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export interface PageEnvironment {
  /** Fires `visibilitychange`; `visibilityState` becomes `hidden` when the tab is left or closed. */
  document: ListenerTarget & { readonly visibilityState: string };
  /** Fires `pagehide` when the page is unloaded or goes into the back/forward cache. */
  window: ListenerTarget;
  navigator?: { sendBeacon?: (url: string, data: Blob) => boolean } | undefined;
  /** The page's origin (`location.origin`): a beacon goes only where it is allowed (see `beacon`). */
  origin?: string | undefined;
}

/** The page this code runs in, or undefined outside a browser (Node, a worker). */
export function currentPage(): PageEnvironment | undefined {
  const scope = globalThis as unknown as {
    document?: PageEnvironment['document'];
    addEventListener?: unknown;
    navigator?: PageEnvironment['navigator'];
    location?: { origin?: string };
  };
  if (typeof scope.document?.addEventListener !== 'function' || typeof scope.addEventListener !== 'function') return undefined;
  return {
    document: scope.document,
    window: scope as unknown as ListenerTarget,
    navigator: scope.navigator,
    origin: scope.location?.origin,
  };
}

/** Calls `onExit` when the page is hidden or left; answers the function that stops listening. */
export function watchPageExit(page: PageEnvironment, onExit: () => void): () => void {
  const onVisibilityChange = () => {
    if (page.document.visibilityState === 'hidden') onExit();
  };
  page.document.addEventListener('visibilitychange', onVisibilityChange);
  page.window.addEventListener('pagehide', onExit);
  return () => {
    page.document.removeEventListener('visibilitychange', onVisibilityChange);
    page.window.removeEventListener('pagehide', onExit);
  };
}
