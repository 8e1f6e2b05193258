// The people's pages in a real browser: Debian's Chromium, headless, driven by playwright-core.
// What a citizen meets — the sign-in page (before and after a wrong password), self-registration,
// the forgotten password and the SMS sign-in (each's first page and its code step, asked for a
// number no one has), the consent page, the account overview and its seven sections, the
// question a sign-out request without an id_token_hint asks (and its "stay signed in" answer),
// the signed-out page, a page that does not exist and a sign-in that expired — is checked in
// Chinese (zh-CN, the default) and in English (chosen by the browser's Accept-Language), and the
// overview on a phone (zh-CN). Then two-step verification, in both languages through the pages'
// language link (the account sets its authenticator up once): the authenticator's set-up page,
// the recovery codes shown once it is on (and when renewed), and the code page of the next
// sign-in, with codes computed as an app would (totp.mjs); it is turned off again at the end.
// Every page is checked for:
//
//  - accessibility: axe-core (npm, pinned in package.json) with the WCAG 2.0 and 2.1 A and AA
//    rules. A violation of impact "serious" or "critical" fails, printed with its rule, help
//    and the offending elements; "moderate" and "minor" ones are printed on the page's line.
//    axe is evaluated through the DevTools protocol (Runtime.evaluate), which the pages'
//    `script-src 'self'` does not govern, so the pages are audited with their CSP enforced
//    (a refused inline script or style shows as a console error and fails the run too).
//  - weight: every byte a first visit transfers (cache disabled: the document, its redirects,
//    the stylesheet, scripts, icon and images, headers included, from the DevTools protocol's
//    Network.loadingFinished encodedDataLength) must stay under 50 KB per page: people sign
//    in from old phones on slow mobile networks;
//  - the page's language: <html lang> is the one asked for; a plain <title> (no stray markup)
//    and one <h1> in <main>;
//  - nothing alarming before the person acts: the first sign-in page shows no alert;
//  - shown, not failed: Chinese text in an English page not marked with its own lang (the
//    step's `unmarked_chinese`).
//
// Then, in fresh browsers:
//  - keyboard only: Tab to the username field (the autofocus may already be there; the skip
//    link is the first stop otherwise), type, Tab, type the password, Enter; on the consent
//    page the first Tab is the skip link (visible when focused), which leads into the content;
//    Tab to "allow", Enter; done when the browser asks the redirect URI for `code=` (the
//    redirect URI has no server: the request is watched, as in passkey.mjs). Every stop must
//    show a focus ring. `prompt=consent` is added to the authorization URL (unless it has a
//    prompt) so the page is asked even though consent is remembered.
//  - without JavaScript: sign in with the password and reach the account overview and the
//    security section (every form works without script; only WebAuthn needs it).
//
// Screenshots (PNG, full page, after the fonts are ready) go to the screenshot directory:
// signin.png (zh-CN, 1280x800), register.png and reset.png (where offered), consent.png,
// account.png, account-security.png, account-phone.png (the overview on a 390x844 phone, which
// has the navigation as a menu), signed-out.png and factor.png (the code page of a sign-in with
// two steps). Each is the same from run to run, so the committed files change only when the
// pages do; the authenticator's set-up page is audited but not pictured (its key is new each
// time).
//
// usage: node pages.mjs <base URL> <username> <password> <authorization URL> <redirect URI> <screenshot dir>
// Prints one JSON line per step; exits non-zero on the first failure (PAGES_ALL=1: audit every
// page and fail at the end, to see every violation at once).
import { mkdirSync } from "node:fs";
import { codeAt, stepAt } from "./totp.mjs";
import { DESKTOP, focused, launch, meter, run, signIn, step, watch } from "./audit.mjs";

const [base, username, password, authorizeUrl, redirectUri, shots] = process.argv.slice(2);
const started = Date.now() / 1000;
if (!shots) {
  console.error("usage: node pages.mjs <base URL> <username> <password> <authorization URL> <redirect URI> <screenshot dir>");
  process.exit(2);
}
// axe-core is loaded here (or the run stops, saying why); `fail` throws, or with PAGES_ALL=1
// remembers (audit.mjs)
const { fail, failures, audit, shot } = run({ shots });
mkdirSync(shots, { recursive: true });
// the consent page is asked even when the person allowed the client before
const consentUrl = /[?&]prompt=/.test(authorizeUrl) ? authorizeUrl : `${authorizeUrl}&prompt=consent`;

const browser = await launch();

try {
  // 1. Every page, in each language: a fresh browser, the account centre leads to the sign-in.
  for (const [locale, lang] of [["zh-CN", "zh"], ["en-US", "en"]]) {
    const zh = locale === "zh-CN";
    const context = await browser.newContext({ locale, viewport: DESKTOP });
    const page = await context.newPage();
    const errors = [];
    watch(page, errors);
    const m = await meter(context, page);
    const tag = (n) => `${n}.${locale}`;

    m.reset();
    await page.goto(`${base}/t/main/account`);
    await page.waitForSelector("#login");
    if (await page.locator("[role=alert]:visible, .error:visible").count()) fail(`${tag("signin")}: an alert before the person acted`);
    await audit(page, m, tag("signin"), lang);
    if (zh) await shot(page, "signin.png");

    // self-registration and the forgotten password, where the tenant offers them: their
    // first pages (the phone number), then their code steps once a code was asked for (a number
    // no one has: the pages answer the same for any number; one per flow and language, as a
    // number gets one code a minute)
    const phones = zh ? ["13900000001", "13900000002", "13900000003"] : ["13900000011", "13900000012", "13900000013"];
    for (const [i, name] of ["register", "reset"].entries()) {
      if (!(await page.locator(`#${name}-link`).count())) continue;
      const back = page.url();
      m.reset();
      await Promise.all([page.waitForURL(new RegExp(`/${name}$`)), page.click(`#${name}-link`)]);
      await page.waitForSelector("#selfservice-send");
      await audit(page, m, tag(name), lang);
      if (zh) await shot(page, `${name}.png`);
      await page.fill("#phone", phones[i]);
      m.reset();
      await Promise.all([page.waitForNavigation(), page.click("#selfservice-send button[type=submit]")]);
      if (!(await page.locator("#selfservice-finish #code").count())) fail(`${tag(`${name}_code`)}: no code step at ${page.url()}`);
      await audit(page, m, tag(`${name}_code`), lang);
      await page.goto(back);
      await page.waitForSelector("#login");
    }

    // sign-in with an SMS code, where offered: the page, then its code step
    const smsLink = page.locator("main a[href$='/sms']");
    if (await smsLink.count()) {
      const back = page.url();
      m.reset();
      await Promise.all([page.waitForURL(/\/sms$/), smsLink.click()]);
      await page.waitForSelector("#phone");
      await audit(page, m, tag("sms"), lang);
      await page.fill("#phone", phones[2]);
      m.reset();
      await Promise.all([page.waitForNavigation(), page.click("form[action$='/sms/send'] button[type=submit]")]);
      if (!(await page.locator("form[action$='/sms/verify'] #code").count())) fail(`${tag("sms_code")}: no code step at ${page.url()}`);
      await audit(page, m, tag("sms_code"), lang);
      await page.goto(back);
      await page.waitForSelector("#login");
    }

    // a wrong password: the same page with an alert
    m.reset();
    await signIn(page, username, `${password}-wrong`);
    if (!(await page.locator("[role=alert]:visible").count())) fail(`${tag("signin_wrong_password")}: no alert: ${page.url()}`);
    await audit(page, m, tag("signin_wrong_password"), lang);

    // signed in, back at the overview (where the sign-in began)
    m.reset();
    await signIn(page, username, password);
    if (!/\/t\/main\/account$/.test(page.url())) throw new Error(`${tag("account")}: signed in to ${page.url()}`);
    await audit(page, m, tag("account"), lang);
    if (zh) await shot(page, "account.png");
    for (const section of ["security", "identity", "profile", "privacy", "devices", "activity", "delete"]) {
      m.reset();
      await page.goto(`${base}/t/main/account/${section}`);
      if (!page.url().endsWith(`/account/${section}`)) throw new Error(`${tag(section)}: at ${page.url()}`);
      await audit(page, m, tag(`account_${section}`), lang);
      if (zh && section === "security") await shot(page, "account-security.png");
    }

    // the overview on a phone: the same session in a phone-sized browser
    if (zh) {
      const phone = await browser.newContext({
        locale, storageState: await context.storageState(),
        viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
      });
      const p = await phone.newPage();
      watch(p, errors);
      const pm = await meter(phone, p);
      await p.goto(`${base}/t/main/account`);
      if (!(await p.locator("nav.acct-menu summary").isVisible())) fail("account_phone: no navigation menu on a phone");
      await audit(p, pm, tag("account_phone"), lang);
      await shot(p, "account-phone.png");
      await phone.close();
    }

    // the consent page, signed in (not answered: the keyboard run below allows)
    m.reset();
    await page.goto(consentUrl);
    await page.waitForSelector("button[name=decision][value=allow]");
    await audit(page, m, tag("consent"), lang);
    if (zh) await shot(page, "consent.png");

    // a sign-out request without proof of its origin (no id_token_hint): the person is asked;
    // staying signed in says so
    m.reset();
    await page.goto(`${base}/t/main/end_session`);
    if (!(await page.locator("button[name=decision][value=no]").count())) throw new Error(`${tag("logout_confirm")}: not asked at ${page.url()}`);
    await audit(page, m, tag("logout_confirm"), lang);
    m.reset();
    await Promise.all([page.waitForNavigation(), page.click("button[name=decision][value=no]")]);
    await audit(page, m, tag("logout_stayed"), lang);

    // signed out with the header's button
    await page.goto(`${base}/t/main/account`);
    await page.waitForLoadState("networkidle");
    m.reset();
    await Promise.all([page.waitForNavigation(), page.click("form.signout button")]);
    if (await page.locator("form.signout").count()) throw new Error(`${tag("signed_out")}: still signed in at ${page.url()}`);
    await audit(page, m, tag("signed_out"), lang);
    if (zh) await shot(page, "signed-out.png");

    // a page that does not exist
    m.reset();
    page.expectStatus = { url: `${base}/no-such-page`, status: 404 };
    const res = await page.goto(`${base}/no-such-page`);
    if (res.status() !== 404) fail(`${tag("not_found")}: status ${res.status()}`);
    await audit(page, m, tag("not_found"), lang);

    // a sign-in that expired (or never was)
    m.reset();
    page.expectStatus = { url: `${base}/t/main/interaction/nonexistent`, status: 400 };
    const gone = await page.goto(`${base}/t/main/interaction/nonexistent`);
    if (gone.status() !== 400) fail(`${tag("interaction_gone")}: status ${gone.status()}`);
    await audit(page, m, tag("interaction_gone"), lang);
    page.expectStatus = null;

    if (errors.length) fail(`${locale}: script errors: ${errors.join("; ")}`);
    await context.close();
  }

  // 1b. Two-step verification, in a fresh browser (zh-CN; each page is met in English too
  // through its language link, as the account sets its authenticator up once): the set-up page
  // (and its answer to a wrong code), the recovery codes it leads to, the code page of the next
  // sign-in, renewed recovery codes; and off again, so that the runs below sign in with the
  // password alone.
  {
    const context = await browser.newContext({ locale: "zh-CN", viewport: DESKTOP });
    const page = await context.newPage();
    const errors = [];
    watch(page, errors);
    const m = await meter(context, page);
    const security = async () => {
      await page.goto(`${base}/t/main/account/security`);
      if (!page.url().endsWith("/account/security")) throw new Error(`totp: the security section at ${page.url()}`);
    };
    // a page's language link (a GET page returns to itself, a form's answer to the overview)
    const switchLanguage = async () => {
      await Promise.all([page.waitForNavigation(), page.click("header a.lang")]);
    };
    const submit = (form) => Promise.all([page.waitForNavigation(), page.click(`${form} button[type=submit]`)]);
    const confirmForm = "form[action$='/account/totp/confirm']";
    // the set-up page, then its answer to a code of five digits (never right)
    const setUp = async (locale, lang) => {
      await security();
      m.reset();
      await submit("form[action$='/account/totp/begin']");
      await page.waitForSelector("#totp-key");
      if (!(await page.locator(".qr svg").count())) fail(`totp.${locale}: no QR code`);
      await audit(page, m, `totp.${locale}`, lang);
      await page.fill("#code", "12345");
      m.reset();
      await submit(confirmForm);
      if (!(await page.locator("main [role=alert]:visible").count())) fail(`totp_wrong_code.${locale}: no alert at ${page.url()}`);
      await audit(page, m, `totp_wrong_code.${locale}`, lang);
    };

    await page.goto(`${base}/t/main/account`);
    await page.waitForSelector("#login");
    await signIn(page, username, password);
    if (!/\/t\/main\/account$/.test(page.url())) throw new Error(`totp: signed in to ${page.url()}`);
    await setUp("zh-CN", "zh");
    // the set-up page and the recovery codes offer no language switch (it would throw the
    // key or the codes away): the person switches on the security section, then sets up again
    if (await page.locator("header a.lang").count()) fail("totp: a language switch that would lose the key");
    await security();
    await switchLanguage();
    // in English: a fresh key (the first was never confirmed)
    await setUp("en-US", "en");
    const key = (await page.textContent("#totp-key")).trim();
    // The server takes its clock's step and one either side, each once. Its clock may stand
    // still (the Rust test's is the time its server started), so the step is found, not
    // assumed: upward from before this script began, the first code taken is the earliest the
    // server accepts, which leaves the next one for the sign-in below.
    let used = null;
    for (let s = stepAt(started) - 3; s <= stepAt() + 1 && used === null; s++) {
      await page.fill("#code", codeAt(key, s));
      m.reset();
      await submit(confirmForm);
      if (await page.locator("ul.codes li").count()) used = s;
      else if (!(await page.locator(confirmForm).count())) throw new Error(`totp: the set-up ended at ${page.url()}`);
    }
    if (used === null) throw new Error(`totp: no code the server took (key ${key})`);
    await audit(page, m, "recovery_codes.en-US", "en");
    if (await page.locator("header a.lang").count()) fail("recovery codes: a language switch that would lose them");

    // signed out and in again: the password, then the authenticator's code
    await security();
    await switchLanguage();
    await Promise.all([page.waitForNavigation(), page.click("form.signout button")]);
    await page.goto(`${base}/t/main/account`);
    await page.waitForSelector("#login");
    m.reset();
    await signIn(page, username, password);
    const factorForm = "form[action$='/totp']";
    if (!(await page.locator(`${factorForm} #code`).count())) throw new Error(`factor: no code page after the password: ${page.url()}`);
    await audit(page, m, "factor.zh-CN", "zh");
    await shot(page, "factor.png");
    m.reset();
    await switchLanguage();
    if (!(await page.locator(`${factorForm} #code`).count())) throw new Error(`factor: the English page has no code field: ${page.url()}`);
    await audit(page, m, "factor.en-US", "en");
    // the next step's code (a moving clock may have passed it by one: then the one after)
    let signedIn = null;
    for (const s of [used + 1, used + 2]) {
      await page.fill("#code", codeAt(key, s));
      await submit(factorForm);
      if (/\/t\/main\/account$/.test(page.url())) { signedIn = s; break; }
    }
    if (signedIn === null) throw new Error(`factor: codes of steps ${used + 1} and ${used + 2} refused: ${page.url()}`);

    // new recovery codes, in Chinese (the session used two factors: it may)
    await security();
    await switchLanguage();
    await page.click("details:has(#recovery-renew) summary");
    m.reset();
    await submit("#recovery-renew");
    if ((await page.locator("ul.codes li").count()) < 1) throw new Error(`totp: no renewed recovery codes at ${page.url()}`);
    await audit(page, m, "recovery_codes.zh-CN", "zh");

    // and off again
    await security();
    const remove = "form[action$='/account/totp/remove']";
    await page.click(`details:has(${remove}) summary`);
    await submit(remove);
    await security();
    if ((await page.getAttribute("#totp-state", "data-on")) !== "false") throw new Error("totp: still on after removing it");
    if (errors.length) fail(`totp: script errors: ${errors.join("; ")}`);
    step("totp_off_again", { steps: [used, signedIn] });
    await context.close();
  }

  // 2. Keyboard only, in a fresh browser: sign in and allow the client.
  {
    const context = await browser.newContext({ locale: "zh-CN", viewport: DESKTOP });
    const page = await context.newPage();
    const errors = [];
    watch(page, errors);
    let callback = null;
    page.on("request", (r) => { if (r.url().startsWith(redirectUri)) callback = r.url(); });
    await page.goto(consentUrl);
    await page.waitForSelector("#login");
    const stops = [];
    const tabTo = async (want, what) => {
      for (let i = 0; i < 30; i++) {
        const f = await focused(page);
        if (want(f)) {
          if (!f.ring) throw new Error(`keyboard: ${f.name} shows no focus ring`);
          return f;
        }
        await page.keyboard.press("Tab");
        const g = await focused(page);
        stops.push(g.name);
        if (g.name !== "body" && !g.ring) throw new Error(`keyboard: ${g.name} shows no focus ring (stops: ${stops.join(" ")})`);
        if (g.name !== "body" && !g.onScreen) throw new Error(`keyboard: ${g.name} is focused off screen (stops: ${stops.join(" ")})`);
      }
      throw new Error(`keyboard: ${what} not reached with Tab (stops: ${stops.join(" ")})`);
    };
    await tabTo((f) => f.name === "#login", "the username field");
    await page.keyboard.type(username);
    await page.keyboard.press("Tab");
    if ((await focused(page)).name !== "#password") throw new Error(`keyboard: Tab from the username went to ${(await focused(page)).name}`);
    await page.keyboard.type(password);
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    await page.waitForSelector("button[name=decision][value=allow]");
    const signinStops = stops.splice(0);
    // the consent page: the skip link first, visible, and into the content
    await page.keyboard.press("Tab");
    const skip = await focused(page);
    if (skip.name !== "a.skip" || !skip.onScreen) throw new Error(`keyboard: the first Tab reached ${skip.name} (on screen: ${skip.onScreen})`);
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    const into = await focused(page);
    if (!into.inMain) throw new Error(`keyboard: the skip link led to ${into.name}, not into the content`);
    stops.push("a.skip", into.name);
    await tabTo((f) => f.allow, "the allow button");
    await page.keyboard.press("Enter");
    for (let i = 0; i < 100 && !callback; i++) await new Promise((r) => setTimeout(r, 50));
    if (!callback || !callback.includes("code=")) throw new Error(`keyboard: no code came back: ${callback}`);
    if (errors.length) fail(`keyboard: script errors: ${errors.join("; ")}`);
    step("keyboard_only", { signin: signinStops, consent: stops, callback });
    await context.close();
  }

  // 3. Without JavaScript: the password sign-in, the overview and the security section.
  {
    const context = await browser.newContext({ locale: "zh-CN", viewport: DESKTOP, javaScriptEnabled: false });
    const page = await context.newPage();
    const errors = [];
    watch(page, errors);
    await page.goto(`${base}/t/main/account`);
    await page.waitForSelector("#login");
    await signIn(page, username, password);
    if (!/\/t\/main\/account$/.test(page.url()) || !(await page.locator("#cards").count())) {
      throw new Error(`no script: sign-in ended at ${page.url()}`);
    }
    await page.goto(`${base}/t/main/account/security`);
    const forms = await page.locator("main form").count();
    if (!page.url().endsWith("/account/security") || !(await page.locator("main h1").count()) || !forms) {
      throw new Error(`no script: security section at ${page.url()}`);
    }
    if (errors.length) fail(`no script: errors: ${errors.join("; ")}`);
    step("no_script", { url: page.url(), forms });
    await context.close();
  }

  if (failures.length) throw new Error(`${failures.length} failure(s), above`);
  step("done");
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
