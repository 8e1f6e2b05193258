// The citizen pages pages.mjs does not reach, in the same Chromium with the same audit
// (audit.mjs: axe-core WCAG 2.0/2.1 A and AA, serious or critical fails; under 50 KB a page;
// <html lang>; one <h1> in <main>; a plain <title>), in Chinese (zh-CN) and in English (en-US,
// the browser's Accept-Language), one fresh browser per language:
//
//  1. the real-name upgrade inside a sign-in: a client that needs level 3 (the bank-card
//     check) and a person with none — the sign-in page naming the client, the upgrade page with
//     the name and ID form (and its answer to a mistyped number), after a match the bank-card
//     form (and its answer to a mistyped card), then the consent page of the `realname` scope
//     (allowed: the browser goes to the redirect URI with a code). Then a client that needs
//     level 4, which only a service-hall counter gives: the page saying where to go (declined:
//     `access_denied` comes back);
//  2. the acting-context chooser: the person, now level 3 and the registered legal
//     representative of an enterprise, binds it on the account's identity section (audited),
//     then signs in to a client accepting `self` and `enterprise`: the chooser (myself / the
//     enterprise), then the consent page for the enterprise;
//  3. the consent page's variants: a client with the full ID number (`id_number`, its own tick
//     under the sensitive-items notice) and a client under a statutory duty (the "信息使用告知"
//     page, the sensitive items listed, one "continue" button);
//  4. a kiosk sign-in (RFC 8628) approved on a phone (390x844): the kiosk's device
//     authorization (made by this script, as the kiosk would), the phone's `/device` — the
//     sign-in it leads to, the code form, its answer to a code no kiosk shows, the kiosk's
//     question with the code to compare, "approved" (the kiosk then gets its tokens), and a
//     second kiosk sign-in denied ("denied"; the kiosk hears `access_denied`).
//
// Shown, not failed (a line {"notice": …}): a consent tick laid out on a line of its own,
// apart from the words it agrees to.
//
// usage: node more_pages.mjs <base URL> <screenshot dir, or - for none> <set-up JSON file>
// The tenant is `main` (issuer <base URL>/t/main) with the simulator as verification provider.
// Each person ends bound at level 3 and representing the enterprise, so a set-up serves one run.
// The set-up (written by tests/e2e/pages_browser.rs, or by hand against a development server):
//   {
//     "password": "…",                       // every person's
//     "redirect_uri": "http://127.0.0.1:1/cb", // the web clients' (nothing listens: watched)
//     "people": {                              // one per language, each with a verified phone,
//       "zh-CN": {                             // no real name, no role, no membership
//         "username": "…",
//         "name": "李华", "id_number": "…",    // as the enterprise's registered representative
//         "uscc": "…"                          // that enterprise (a root organisation)
//       },
//       "en-US": { … }
//     },
//     "realname_authorize": "…",   // a web client with min_realname_level 3, scope openid realname
//     "counter_authorize": "…",    // min_realname_level 4
//     "context_authorize": "…",    // contexts self + enterprise, scope openid enterprise
//     "sensitive_authorize": "…",  // scope with id_number (and realname)
//     "statutory_authorize": "…",  // statutory, scope with id_number (and realname)
//     "kiosk": { "client_id": "…", "client_secret": "…", "scope": "openid profile" }
//   }
// each "…_authorize" a complete authorization URL (`prompt=consent` is added where the consent
// page is wanted and the URL has no prompt). Screenshots (zh-CN): realname.png,
// realname-card.png, realname-counter.png, context.png, consent-sensitive.png,
// consent-statutory.png, device.png (the kiosk's question on a phone, showing the sample code
// BCDF-GHJK in place of the run's), each the same from run to run.
// Prints one JSON line per page, {"step":"done"} at the end; exits non-zero on the first
// failure (PAGES_ALL=1: every page, failing at the end).
import { mkdirSync, readFileSync } from "node:fs";
import { DESKTOP, PHONE, launch, meter, run, signIn, step, watch } from "./audit.mjs";

const [base, shotsArg, setupFile] = process.argv.slice(2);
if (!setupFile) {
  console.error("usage: node more_pages.mjs <base URL> <screenshot dir or -> <set-up JSON file>");
  process.exit(2);
}
const setup = JSON.parse(readFileSync(setupFile, "utf8"));
const shots = shotsArg === "-" ? null : shotsArg;
const { fail, failures, audit, shot: shoot } = run({ shots });
if (shots) mkdirSync(shots, { recursive: true });
const shot = (page, file, options) => (shots ? shoot(page, file, options) : null);
const issuer = `${base}/t/main`;
const redirectUri = setup.redirect_uri || "http://127.0.0.1:1/cb";
const withConsent = (url) => (/[?&]prompt=/.test(url) ? url : `${url}&prompt=consent`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `prefix` completed to 16 digits with its Luhn check digit (a card of an ordinary bank: the
// simulator refuses only the synthetic banks 629999 and 629998)
function card(prefix) {
  const body = prefix.padEnd(15, "3");
  for (let d = 0; d <= 9; d++) {
    const n = `${body}${d}`;
    let sum = 0;
    for (let i = 0; i < n.length; i++) {
      let v = Number(n[n.length - 1 - i]);
      if (i % 2 === 1) { v *= 2; if (v > 9) v -= 9; }
      sum += v;
    }
    if (sum % 10 === 0) return n;
  }
  throw new Error("no Luhn digit");
}
// a digit of `s` at `i` changed (a typing slip the check character or digit catches)
const slip = (s, i) => `${s.slice(0, i)}${s[i] === "9" ? "8" : String(Number(s[i]) + 1)}${s.slice(i + 1)}`;

// The kiosk's side (RFC 8628): a device authorization, and one poll of the token endpoint.
const kioskAuth = () => `Basic ${Buffer.from(`${encodeURIComponent(setup.kiosk.client_id)}:${encodeURIComponent(setup.kiosk.client_secret)}`).toString("base64")}`;
async function kioskPost(path, form) {
  const r = await fetch(`${issuer}/${path}`, {
    method: "POST",
    headers: { authorization: kioskAuth(), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: r.status, body: await r.json() };
}
async function deviceAuthorization() {
  const r = await kioskPost("device_authorization", { scope: setup.kiosk.scope || "openid" });
  if (r.status !== 200 || !r.body.user_code) throw new Error(`device_authorization: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
const poll = (deviceCode) => kioskPost("token", { grant_type: "urn:ietf:params:oauth:grant-type:device_code", device_code: deviceCode });

const browser = await launch();

// Does `act` send the browser to the client (the redirect URI, where nothing listens)? The
// authorization response's parameters.
async function toClient(page, act) {
  let callback = null;
  const seen = (r) => { if (r.url().startsWith(redirectUri)) callback = r.url(); };
  page.on("request", seen);
  try {
    await act();
    for (let i = 0; i < 100 && !callback; i++) await sleep(50);
    // the browser's own error page (no server there) comes last: let it, before going on
    for (let i = 0; i < 100 && callback && !page.url().startsWith("chrome-error:") && !page.url().startsWith(redirectUri); i++) await sleep(50);
    await page.waitForLoadState("load").catch(() => {});
  } finally {
    page.off("request", seen);
  }
  return callback ? Object.fromEntries(new URL(callback).searchParams) : null;
}
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);
const at = (page, selector) => page.locator(selector).count();

try {
  for (const [locale, lang] of [["zh-CN", "zh"], ["en-US", "en"]]) {
    const zh = locale === "zh-CN";
    const who = setup.people[locale];
    const tag = (n) => `${n}.${locale}`;
    const context = await browser.newContext({ locale, viewport: DESKTOP });
    const page = await context.newPage();
    const errors = [];
    watch(page, errors);
    const m = await meter(context, page);

    // 1. a client that needs real-name level 3: the sign-in names it, then the upgrade
    m.reset();
    await page.goto(setup.realname_authorize);
    await page.waitForSelector("#login");
    await audit(page, m, tag("signin_for_client"), lang);
    m.reset();
    await signIn(page, who.username, setup.password).catch((e) => {
      throw new Error(`${tag("realname_upgrade")}: the sign-in went on to ${page.url()}, not to the upgrade ` +
        `(has ${who.username} a real name already? a set-up serves one run): ${String(e).split("\n")[0]}`);
    });
    if (!(await at(page, "#needed[data-level='3']")) || !(await at(page, "#rn-number"))) {
      throw new Error(`${tag("realname_upgrade")}: no upgrade page with the name and ID form at ${page.url()}`);
    }
    await audit(page, m, tag("realname_upgrade"), lang);
    if (zh) await shot(page, "realname.png");
    const verify = "form:has(input[name=decision][value=verify]) button[type=submit]";
    // a number with a slip in it: the same page, an alert saying what is wrong
    await page.fill("#rn-name", who.name);
    await page.fill("#rn-number", slip(who.id_number, 10));
    m.reset();
    await submit(page, verify);
    if (!(await at(page, "main [role=alert]:visible")) || !(await at(page, "#rn-number"))) {
      fail(`${tag("realname_upgrade_error")}: no alert with the form at ${page.url()}`);
    }
    await audit(page, m, tag("realname_upgrade_error"), lang);
    // the number as it is: level 2, and the card next
    await page.fill("#rn-name", who.name);
    await page.fill("#rn-number", who.id_number);
    m.reset();
    await submit(page, verify);
    if (!(await at(page, "#rn-card")) || (await at(page, "#rn-number"))) {
      throw new Error(`${tag("realname_card")}: no bank-card form after the name and number at ${page.url()} ` +
        `(${(await page.locator("main").innerText()).replace(/\s+/g, " ").slice(0, 300)})`);
    }
    await audit(page, m, tag("realname_card"), lang);
    if (zh) await shot(page, "realname-card.png");
    const good = card(zh ? "622202" : "622848");
    const cardForm = "form:has(input[name=decision][value=card]) button[type=submit]";
    await page.fill("#rn-card", slip(good, 6));
    m.reset();
    await submit(page, cardForm);
    if (!(await at(page, "main [role=alert]:visible")) || !(await at(page, "#rn-card"))) {
      fail(`${tag("realname_card_error")}: no alert with the card form at ${page.url()}`);
    }
    await audit(page, m, tag("realname_card_error"), lang);
    await page.fill("#rn-card", good);
    m.reset();
    await submit(page, cardForm);
    if (!(await at(page, "button[name=decision][value=allow]"))) {
      throw new Error(`${tag("consent_realname")}: no consent page after the card at ${page.url()} ` +
        `(${(await page.locator("main").innerText()).replace(/\s+/g, " ").slice(0, 300)})`);
    }
    await audit(page, m, tag("consent_realname"), lang);
    const back = await toClient(page, () => page.click("button[name=decision][value=allow]"));
    if (!back || !back.code) fail(`${tag("realname")}: no code came back: ${JSON.stringify(back)}`);
    step(tag("realname_done"), { code: !!(back && back.code) });

    // a level only the counter gives: where to go; declining tells the client
    m.reset();
    await page.goto(setup.counter_authorize);
    await page.waitForSelector("#needed");
    if (!(await at(page, "#needed[data-level='4']")) || (await at(page, "#rn-number, #rn-card"))) {
      fail(`${tag("realname_counter")}: not the counter page at ${page.url()}`);
    }
    await audit(page, m, tag("realname_counter"), lang);
    if (zh) await shot(page, "realname-counter.png");
    const declined = await toClient(page, () => page.click("form:has(input[name=decision][value=decline]) button[type=submit]"));
    if (!declined || declined.error !== "access_denied") fail(`${tag("realname_counter")}: declining answered ${JSON.stringify(declined)}`);

    // 2. the enterprise, bound on the identity section by its legal representative
    await page.goto(`${base}/t/main/account/identity`);
    if (!page.url().endsWith("/account/identity")) throw new Error(`${tag("account_identity_enterprise")}: at ${page.url()}`);
    await page.fill("#uscc", who.uscc);
    m.reset();
    await submit(page, "form[action$='/account/enterprise/bind'] button[type=submit]");
    if (!(await at(page, "#enterprises[data-count='1']"))) {
      fail(`${tag("account_identity_enterprise")}: not bound at ${page.url()} ` +
        `(${(await page.locator("main").innerText()).replace(/\s+/g, " ").slice(0, 300)})`);
    }
    await audit(page, m, tag("account_identity_enterprise"), lang);
    // the client accepting both: the chooser
    m.reset();
    await page.goto(setup.context_authorize);
    await page.waitForLoadState("load");
    const options = await page.locator("button[name=context]").count();
    if (options < 2 || !(await at(page, "button[name=context][value=self]"))) {
      throw new Error(`${tag("context")}: no chooser (${options} choices) at ${page.url()}`);
    }
    await audit(page, m, tag("context"), lang);
    if (zh) await shot(page, "context.png");
    m.reset();
    await submit(page, "button[name=context]:not([value=self])");
    if (!(await at(page, "button[name=decision][value=allow]"))) fail(`${tag("consent_enterprise")}: no consent page at ${page.url()}`);
    else {
      await audit(page, m, tag("consent_enterprise"), lang);
      const cb = await toClient(page, () => page.click("button[name=decision][value=allow]"));
      if (!cb || !cb.code) fail(`${tag("context")}: no code came back: ${JSON.stringify(cb)}`);
    }

    // 3. the consent page's variants
    m.reset();
    await page.goto(withConsent(setup.sensitive_authorize));
    await page.waitForLoadState("load");
    if (!(await at(page, "fieldset.sensitive input[type=checkbox][name=sensitive]"))) {
      fail(`${tag("consent_sensitive")}: no tick for the sensitive items at ${page.url()}`);
    }
    await audit(page, m, tag("consent_sensitive"), lang);
    if (zh) await shot(page, "consent-sensitive.png");
    // shown, not failed: each tick on the line of the words it agrees to
    const apart = await page.evaluate(() => [...document.querySelectorAll("fieldset.sensitive label")].filter((l) => {
      const box = l.querySelector("input").getBoundingClientRect();
      const words = document.createRange();
      words.selectNodeContents(l);
      words.setStartAfter(l.querySelector("input"));
      const text = words.getBoundingClientRect();
      return box.bottom <= text.top || box.top >= text.bottom;
    }).map((l) => l.textContent.trim()));
    if (apart.length) console.log(JSON.stringify({ notice: "a tick on a line of its own, apart from its words", page: tag("consent_sensitive"), labels: apart }));
    m.reset();
    await page.goto(withConsent(setup.statutory_authorize));
    await page.waitForLoadState("load");
    if (!(await at(page, "#statutory")) || (await at(page, "button[name=decision][value=deny]"))) {
      fail(`${tag("consent_statutory")}: not the statutory information page at ${page.url()}`);
    }
    await audit(page, m, tag("consent_statutory"), lang);
    if (zh) await shot(page, "consent-statutory.png");
    const informed = await toClient(page, () => page.click("button[name=decision][value=allow]"));
    if (!informed || !informed.code) fail(`${tag("consent_statutory")}: no code came back: ${JSON.stringify(informed)}`);

    if (errors.length) fail(`${locale}: script errors: ${errors.join("; ")}`);
    await context.close();

    // 4. a kiosk sign-in, approved on a phone that is not signed in yet
    {
      const phone = await browser.newContext({ locale, ...PHONE });
      const p = await phone.newPage();
      const perrors = [];
      watch(p, perrors);
      const pm = await meter(phone, p);
      const grant = await deviceAuthorization();
      if (!grant.verification_uri || !grant.verification_uri_complete) throw new Error(`device: ${JSON.stringify(grant)}`);
      // the address the kiosk shows: the sign-in first
      pm.reset();
      await p.goto(grant.verification_uri);
      await p.waitForSelector("#login");
      await audit(p, pm, tag("device_signin"), lang);
      pm.reset();
      await signIn(p, who.username, setup.password);
      if (!(await at(p, "main form[method=get] input[name=user_code]"))) throw new Error(`${tag("device_entry")}: no code form at ${p.url()}`);
      await audit(p, pm, tag("device_entry"), lang);
      // a code no kiosk shows (eight consonants, as the kiosks' are)
      await p.fill("input[name=user_code]", "BCDF-BCDF");
      pm.reset();
      await submit(p, "main form[method=get] button[type=submit]");
      if (!(await at(p, "main [role=alert]:visible")) || !(await at(p, "input[name=user_code]"))) {
        fail(`${tag("device_unknown")}: no alert with the code form at ${p.url()}`);
      }
      await audit(p, pm, tag("device_unknown"), lang);
      // the code on the kiosk's screen, typed as shown
      await p.fill("input[name=user_code]", grant.user_code);
      pm.reset();
      await submit(p, "main form[method=get] button[type=submit]");
      const shown = (await p.locator("#user-code").count()) ? (await p.textContent("#user-code")).trim() : null;
      if (shown !== grant.user_code) throw new Error(`${tag("device_confirm")}: code shown ${shown}, the kiosk's ${grant.user_code}, at ${p.url()}`);
      await audit(p, pm, tag("device_confirm"), lang);
      if (zh) {
        // the picture shows README's sample code, not this run's (new each time)
        await p.evaluate(() => { document.getElementById("user-code").textContent = "BCDF-GHJK"; });
        await shot(p, "device.png");
      }
      pm.reset();
      await submit(p, "button[name=decision][value=allow]");
      await audit(p, pm, tag("device_approved"), lang);
      const tokens = await poll(grant.device_code);
      if (tokens.status !== 200 || !tokens.body.access_token) fail(`${tag("device_approved")}: the kiosk got ${tokens.status} ${JSON.stringify(tokens.body)}`);
      // another kiosk sign-in, from its QR code (the complete URI), denied
      const second = await deviceAuthorization();
      pm.reset();
      await p.goto(second.verification_uri_complete);
      if (!(await at(p, "button[name=decision][value=deny]"))) throw new Error(`${tag("device_denied")}: no question at ${p.url()}`);
      pm.reset();
      await submit(p, "button[name=decision][value=deny]");
      await audit(p, pm, tag("device_denied"), lang);
      const denied = await poll(second.device_code);
      if (denied.body.error !== "access_denied") fail(`${tag("device_denied")}: the kiosk got ${denied.status} ${JSON.stringify(denied.body)}`);
      step(tag("device_tokens"), { approved: tokens.status, denied: denied.body.error });
      if (perrors.length) fail(`${locale} (phone): script errors: ${perrors.join("; ")}`);
      await phone.close();
    }
  }

  if (failures.length) throw new Error(`${failures.length} failure(s), above`);
  step("done");
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
