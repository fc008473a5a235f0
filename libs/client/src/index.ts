export { createLambdarecClient, type ClickDetails, type LambdarecClient, type LambdarecClientOptions } from './client.js';
export { CLIENT_ERROR_CODES, LambdarecError } from './errors.js';
export type { RetryNotice, SendEventsOptions } from './event-sender.js';
export type { PageEnvironment } from './page-exit.js';
export { MAX_EVENTS_PER_REQUEST } from './batches.js';
export type * from './types.js';
