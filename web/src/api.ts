// Shared helpers of the islands: JSON calls to the API with the session's CSRF token,
// readable errors, number formatting and the group colour palette.

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

/** Calls the API with the session cookie; changes carry the CSRF token. */
export async function api<T>(method: string, url: string, body?: unknown, csrf?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (csrf) headers["x-csrf-token"] = csrf;
  let r: Response;
  try {
    r = await fetch(url, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "the server cannot be reached; check the connection and try again");
  }
  if (!r.ok) throw new ApiError(r.status, await problem(r));
  if (r.status === 204) return undefined as T;
  const type = r.headers.get("content-type") ?? "";
  return (type.includes("json") ? r.json() : r.text()) as Promise<T>;
}

/** The human part of an error answer (problem+json `detail`), never raw JSON. */
export async function problem(r: Response): Promise<string> {
  try {
    const p = await r.json();
    if (p && typeof p.detail === "string") return p.detail;
    if (p && typeof p.title === "string") return p.title;
  } catch {
    /* not JSON */
  }
  return `the server answered ${r.status} ${r.statusText}`;
}

/** A number for a field that is read back or sent as it stands: `sig` significant digits
 * in the notation `Number()` and the server parse ("2.2e-16", no thin-space groups, no
 * "×10^"); magnitudes under `zeroBelow` read 0 (a rounding residue). */
export function plainNumber(x: number, sig = 4, zeroBelow = 0): string {
  return String(Math.abs(x) < zeroBelow ? 0 : Number(x.toPrecision(sig)));
}

/** A number for people: 3–4 significant digits, exponent only for very small/large. */
export function fmt(x: number | null | undefined, sig = 4): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "n/a";
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(sig - 2).replace("e", "×10^").replace("^+", "^");
  if (a >= 1000) return groupDigits(Math.round(x));
  return String(Number(x.toPrecision(sig)));
}

/** 1234567 → "1 234 567" (thin spaces). */
export function groupDigits(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, "\u2009");
}

/** Distinct colours for surface groups (golden-angle hues), as CSS strings. */
export function groupColor(i: number): string {
  const h = (i * 137.508 + 200) % 360;
  const l = 55 + (i % 3) * 7;
  return `hsl(${h.toFixed(1)}, 62%, ${l}%)`;
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
}

export function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement;
}

/** Shows (or clears, with null) an error message element next to its field. */
export function showError(el: HTMLElement, msg: string | null): void {
  el.hidden = !msg;
  el.textContent = msg ?? "";
}

/** Seconds as "1 h 02 min", "3 min 05 s", "12 s". */
export function duration(s: number): string {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(sec).padStart(2, "0")} s`;
  return `${sec} s`;
}
