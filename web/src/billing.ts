// The billing page's buttons: Upgrade opens a Stripe Checkout session for the plan
// (POST /api/billing/checkout → {url}) and Manage opens the customer portal
// (POST /api/billing/portal → {url}); the browser then goes to Stripe.
import { $, api, ApiError, showError } from "./api";

const root = $("billing");
const csrf = root.dataset.csrf ?? "";
const org = root.dataset.org || undefined;
const err = $("billing-error");

/** Calls `url` and goes where it answers, if that is a web address. */
async function go(button: HTMLButtonElement, url: string, body: Record<string, string>, busy: string): Promise<void> {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = busy;
  showError(err, null);
  try {
    const r = await api<{ url: string }>("POST", url, org ? { ...body, org } : body, csrf);
    const to = new URL(r.url, location.href);
    if (to.protocol !== "https:" && to.protocol !== "http:") throw new Error(`unexpected address ${r.url}`);
    location.assign(to.href);
  } catch (e) {
    showError(err, e instanceof ApiError ? e.message : String(e));
    button.disabled = false;
    button.textContent = label;
  }
}

for (const b of document.querySelectorAll<HTMLButtonElement>("button[data-upgrade]")) {
  b.addEventListener("click", () => go(b, "/api/billing/checkout", { plan: b.dataset.upgrade! }, "Opening Stripe Checkout…"));
}
const manage = document.getElementById("manage") as HTMLButtonElement | null;
manage?.addEventListener("click", () => go(manage, "/api/billing/portal", {}, "Opening the customer portal…"));
