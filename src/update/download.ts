// Downloading a recovery update: https with certificate verification (Bun's built-in CA list, or a
// private CA from RECOVERY_UPDATE_CA), plain http only for a pinned or signed archive, retries while the
// network comes up, and one error naming every URL tried with what it answered. ReaR runs
// `curl -f -s -S` once and reports the HTTP code.

export interface Attempt {
  url: string;
  /** what the server or the network said, one line */
  outcome: string;
}

export type FetchResult =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; outcome: string; /** the network may still come up: worth another try */ retry: boolean };

export interface DownloadOptions {
  /** PEM text of the CA(s) to trust instead of the built-in list */
  ca?: string;
  /** the archive may arrive over plain http (RECOVERY_UPDATE_SHA256 or RECOVERY_UPDATE_SIGNERS is set) */
  plainHttpOk: boolean;
  /** stop retrying after this many seconds (RECOVERY_UPDATE_WAIT) */
  waitSeconds: number;
  /** the largest archive taken (a PORTABLE archive carries the binary: ~50 MiB) */
  maxBytes?: number;
  /** seconds without a byte before an attempt is given up (default STALL_SECONDS) */
  stallSeconds?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  fetchOne?: (url: string, o: DownloadOptions) => Promise<FetchResult>;
  log?: (line: string) => void;
}

const DEFAULT_MAX = 1 << 30;

/** Network errors that mean "not yet" (no route, no address, refused, timed out) rather than "no". */
function retryable(code: string | undefined, message: string): boolean {
  if (code && /^(ECONNREFUSED|ECONNRESET|ENETUNREACH|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ConnectionRefused|ConnectionClosed|FailedToOpenSocket|UnableToConnect|Timeout|ENETDOWN)$/i.test(code)) return true;
  return /refused|unreachable|timed? ?out|not resolve|getaddrinfo|network is down|socket/i.test(message);
}

/** One GET. TLS problems (unknown CA, wrong name, expired) are final; so is any HTTP answer but 200. */
/** Seconds without a byte (no answer, or a transfer that stalled) before an attempt is given up. A limit on the
 *  whole transfer would fail a big archive on a slow link for ever: 51 MiB took more than 60 s in a TCG guest. */
export const STALL_SECONDS = 60;

export async function fetchOnce(url: string, o: DownloadOptions): Promise<FetchResult> {
  let res: Response;
  const ac = new AbortController();
  const stall = o.stallSeconds ?? STALL_SECONDS;
  let timer = setTimeout(() => ac.abort(), stall * 1000);
  const alive = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ac.abort(), stall * 1000);
  };
  try {
    res = await fetch(url, {
      redirect: "follow",
      signal: ac.signal,
      ...({ tls: { rejectUnauthorized: true, ...(o.ca ? { ca: o.ca } : {}) } } as object),
    });
  } catch (e) {
    clearTimeout(timer);
    if (ac.signal.aborted) return { ok: false, outcome: `no answer within ${stall} s`, retry: true };
    const err = e as Error & { code?: string };
    const code = err.code ?? err.name;
    const what = `${code && code !== "Error" ? `${code}: ` : ""}${err.message}`.replace(/\s+/g, " ").trim();
    if (/CERT|SSL|TLS|SELF_SIGNED|VERIFY|ALTNAME|ISSUER/i.test(`${code} ${err.message}`)) return { ok: false, outcome: `TLS refused the server: ${what}`, retry: false };
    return { ok: false, outcome: what, retry: retryable(err.code, err.message) };
  }
  alive();
  if (res.url && res.url !== url && res.url.startsWith("http:") && !o.plainHttpOk) {
    clearTimeout(timer);
    await res.body?.cancel();
    return { ok: false, outcome: `redirected to plain http (${res.url}): refused, the archive is neither pinned nor signed`, retry: false };
  }
  if (res.status !== 200) {
    clearTimeout(timer);
    await res.body?.cancel();
    // 5xx: a web server still starting or a proxy without its upstream: worth another try
    return { ok: false, outcome: `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`, retry: res.status >= 500 };
  }
  const max = o.maxBytes ?? DEFAULT_MAX;
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > max) {
    clearTimeout(timer);
    await res.body?.cancel();
    return { ok: false, outcome: `${len} bytes: larger than the ${max} bytes an update may have`, retry: false };
  }
  // the body as it comes: the clock restarts with every chunk
  const chunks: Uint8Array[] = [];
  let got = 0;
  try {
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        alive();
        got += chunk.length;
        if (got > max) {
          ac.abort();
          return { ok: false, outcome: `more than the ${max} bytes an update may have`, retry: false };
        }
        chunks.push(chunk);
      }
    }
  } catch (e) {
    return { ok: false, outcome: ac.signal.aborted ? `the transfer stalled: no data for ${stall} s after ${got} bytes` : `the transfer broke off: ${(e as Error).message}`, retry: true };
  } finally {
    clearTimeout(timer);
  }
  const bytes = new Uint8Array(got);
  let off = 0;
  for (const c of chunks) {
    bytes.set(c, off);
    off += c.length;
  }
  return { ok: true, bytes };
}

/** Refuses what may not be fetched at all: another scheme, or plain http without pin or signature. */
export function urlProblem(url: string, plainHttpOk: boolean): string | undefined {
  if (/^https:\/\//i.test(url)) return undefined;
  if (/^http:\/\//i.test(url)) {
    return plainHttpOk ? undefined : "plain http: set RECOVERY_UPDATE_SHA256 (the archive's sha256) or RECOVERY_UPDATE_SIGNERS (an allowed-signers file), or use https";
  }
  return "only https:// (and http:// for a pinned or signed archive) URLs are supported";
}

/**
 * The first URL that answers 200, trying each in turn; URLs that failed for a reason that may pass
 * (the network is not up yet) are tried again with a growing pause until waitSeconds have passed.
 */
export async function downloadFirst(urls: readonly string[], o: DownloadOptions): Promise<{ url: string; bytes: Uint8Array; attempts: Attempt[] } | { attempts: Attempt[] }> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  const one = o.fetchOne ?? fetchOnce;
  const deadline = now() + o.waitSeconds * 1000;
  const last = new Map<string, string>();
  let pending = [...urls];
  for (const u of urls) {
    const p = urlProblem(u, o.plainHttpOk);
    if (p) {
      last.set(u, p);
      pending = pending.filter((x) => x !== u);
    }
  }
  let pause = 1000;
  for (;;) {
    const again: string[] = [];
    for (const u of pending) {
      const r = await one(u, o);
      if (r.ok) return { url: u, bytes: r.bytes, attempts: urls.map((x) => ({ url: x, outcome: x === u ? "HTTP 200" : (last.get(x) ?? "not tried") })) };
      last.set(u, r.outcome);
      o.log?.(`${u}: ${r.outcome}${r.retry ? " (will try again)" : ""}`);
      if (r.retry) again.push(u);
    }
    if (again.length === 0 || now() + pause > deadline) break;
    await sleep(pause);
    pause = Math.min(pause * 2, 15_000);
    pending = again;
  }
  return { attempts: urls.map((u) => ({ url: u, outcome: last.get(u) ?? "not tried" })) };
}
