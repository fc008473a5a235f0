/**
 * The status a request was answered with, its body read so the connection is free again; 0 when
 * it got no answer (refused, reset, or not within `timeoutMs`). The chaos run counts outcomes, so
 * a failure is a value here, not an exception.
 */
export async function statusOf(url: string, init: RequestInit, timeoutMs: number): Promise<number> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}
