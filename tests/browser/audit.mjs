// What pages.mjs and more_pages.mjs share: Debian's Chromium launched headless, and the audit
// of one page as it is (see pages.mjs for what a page is checked for):
//
//  - accessibility: axe-core (npm, pinned in package.json) with the WCAG 2.0 and 2.1 A and AA
//    rules, evaluated through the DevTools protocol (Runtime.evaluate, which the pages'
//    `script-src 'self'` does not govern, so the pages are audited with their CSP enforced). A
//    violation of impact "serious" or "critical" fails, printed with its rule, help and the
//    offending elements; "moderate" and "minor" ones are printed on the page's line;
//  - weight: every byte a first visit transfers (cache disabled, headers and redirects
//    included) under 50 KB;
//  - the page's language (<html lang>), a plain <title>, one <h1> in <main>; Chinese text in an
//    English page not marked with its own lang is shown (`unmarked_chinese`), not failed.
//
// `run({ shots })` loads axe-core (or prints why it cannot and exits 1) and gives `fail` (which
// throws, or with PAGES_ALL=1 prints and remembers the failure in `failures`), `audit` and
// `shot` (a full-page PNG into the screenshot directory, after the fonts are ready).
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
export const step = (name, detail = {}) => console.log(JSON.stringify({ step: name, ...detail }));
export const WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
export const LIMIT = 50 * 1024;
export const DESKTOP = { width: 1280, height: 800 };
// a phone, as the account overview's phone run has it
export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

export function launch() {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // the tests' redirect URI is http://127.0.0.1:1/cb, a port Chromium blocks by default
      // (the request must be made to be seen)
      "--explicitly-allowed-ports=1",
    ],
  });
}

// Script errors, CSP refusals and failed loads, by page; `page.expectStatus` names the one
// error status a step expects (the 404 page).
export function watch(page, errors) {
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => {
    const expected = page.expectStatus && r.url() === page.expectStatus.url && r.status() === page.expectStatus.status;
    if (r.status() >= 400 && !expected && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
  });
}

// The bytes a page's load transferred, from the DevTools protocol, with the cache off so every
// page is weighed as a first visit. `reset` before the navigation, `total` once it is idle.
export async function meter(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  let types = new Map();
  let bytes = {};
  // requests under way, and when the last one ended (for `idle`)
  const open = new Set();
  let quietSince = Date.now();
  const add = (type, n) => { bytes[type] = (bytes[type] || 0) + n; };
  const ended = (id) => { if (open.delete(id) && !open.size) quietSince = Date.now(); };
  cdp.on("Network.requestWillBeSent", (e) => {
    if (e.request.url.startsWith("data:")) return;
    // a redirect's response is reported here, not by loadingFinished
    if (e.redirectResponse) add("Redirect", e.redirectResponse.encodedDataLength || 0);
    types.set(e.requestId, e.type || "Other");
    open.add(e.requestId);
  });
  // only what was asked since the reset (the page before may still be fetching its icon)
  cdp.on("Network.loadingFinished", (e) => {
    if (types.has(e.requestId)) add(types.get(e.requestId), e.encodedDataLength);
    ended(e.requestId);
  });
  cdp.on("Network.loadingFailed", (e) => ended(e.requestId));
  return {
    cdp,
    reset() { types = new Map(); bytes = {}; },
    // The page loaded and no request under way for `quiet` ms (playwright's "networkidle"
    // waits 500 ms: over sixty pages, half a minute).
    async idle(page, quiet = 150) {
      await page.waitForLoadState("load");
      for (let i = 0; i < 200; i++) {
        if (!open.size && Date.now() - quietSince >= quiet) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      await page.waitForLoadState("networkidle");
    },
    total() {
      const total = Object.values(bytes).reduce((a, b) => a + b, 0);
      return { total, by: { ...bytes } };
    },
  };
}

export async function fontsReady(page) {
  return page.evaluate(() => document.fonts.ready.then(() => document.fonts.status));
}

// Signs in on the sign-in page in front of `page` (Enter in the password field would do too).
export async function signIn(page, who, secret) {
  await page.fill("#login", who);
  await page.fill("#password", secret);
  await Promise.all([page.waitForNavigation(), page.click("form[action$='/login'] button[type=submit]")]);
}

// The focused element, named for the log, and whether it shows a focus ring.
export const focused = (page) => page.evaluate(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return { name: "body", ring: false, inMain: false };
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  const name = e.id ? `#${e.id}` : `${e.tagName.toLowerCase()}${e.className ? `.${e.className}` : ""}` +
    `${e.getAttribute("name") ? `[${e.getAttribute("name")}=${e.value}]` : ""}`;
  return {
    name,
    ring: (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none",
    onScreen: r.right > 0 && r.bottom > 0 && r.left < innerWidth && r.width > 0,
    inMain: !!e.closest("main"),
    allow: e.matches("button[name=decision][value=allow]"),
  };
});

// axe-core's source, or a JSON line saying why not and exit 1.
export function loadAxe() {
  const axePath = new URL("./node_modules/axe-core/axe.min.js", import.meta.url);
  try {
    return readFileSync(axePath, "utf8");
  } catch (e) {
    console.log(JSON.stringify({ error: `axe-core is not installed (\`npm ci\` in tests/browser): ${e}` }));
    process.exit(1);
  }
}

// axe-core's WCAG 2.0/2.1 A and AA violations of the page as it is, and what it could not
// decide (for a person to look at); loaded through the DevTools protocol `cdp`, which the page's
// CSP does not govern.
export async function axeOf(page, cdp, axeSource, name) {
  const exists = await page.evaluate(() => typeof window.axe);
  if (exists !== "object") {
    const r = await cdp.send("Runtime.evaluate", { expression: axeSource });
    if (r.exceptionDetails) throw new Error(`${name}: axe did not load: ${JSON.stringify(r.exceptionDetails)}`);
  }
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return {
      violations: r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(" "), html: n.html, summary: n.failureSummary })),
      })),
      // what axe could not decide by itself (a contrast over an image, say): for a person to look at
      review: r.incomplete.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    };
  }, WCAG);
}

export function run({ shots, keepGoing = process.env.PAGES_ALL === "1" }) {
  const axeSource = loadAxe();
  const failures = [];
  const fail = (message) => {
    if (!keepGoing) throw new Error(message);
    console.log(JSON.stringify({ failure: message }));
    failures.push(message);
  };

  // One page, as it is now: language, weight, axe. `lang` is the <html lang> prefix expected.
  async function audit(page, m, name, lang) {
    await m.idle(page);
    const size = m.total();
    const { htmlLang, title, h1, foreign } = await page.evaluate(() => {
      // Chinese words in an English page not marked as such (WCAG 3.1.2, which axe cannot see)
      const foreign = [];
      if (document.documentElement.lang.toLowerCase().startsWith("en")) {
        const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walk.nextNode(); n; n = walk.nextNode()) {
          const marked = n.parentElement.closest("[lang]");
          if (/\p{Script=Han}/u.test(n.nodeValue) && (!marked || marked.lang.toLowerCase().startsWith("en"))) {
            foreign.push(n.nodeValue.trim());
          }
        }
      }
      return {
        htmlLang: document.documentElement.lang, title: document.title, h1: document.querySelectorAll("main h1").length, foreign,
      };
    });
    if (!htmlLang.toLowerCase().startsWith(lang)) fail(`${name}: <html lang="${htmlLang}">, expected ${lang}`);
    // the tab's name is what a screen reader says first (markup there is a template slip)
    if (!title.trim() || /[<>{}]/.test(title)) fail(`${name}: title ${JSON.stringify(title)}`);
    if (h1 !== 1) fail(`${name}: ${h1} <h1> in <main>`);
    if (size.total >= LIMIT) fail(`${name}: ${size.total} bytes transferred (${JSON.stringify(size.by)}), over ${LIMIT}`);
    const { violations, review } = await axeOf(page, m.cdp, axeSource, name);
    const grave = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    // moderate and minor ones are shown, not failed
    const info = violations.filter((v) => !grave.includes(v))
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target) }));
    step(name, {
      url: page.url(), lang: htmlLang, bytes: size.total, by: size.by, axe_info: info, axe_review: review,
      ...(foreign.length ? { unmarked_chinese: foreign } : {}),
    });
    if (grave.length) {
      // each on its own line, with the elements and what would fix them
      for (const v of grave) {
        console.log(JSON.stringify({
          violation: v.id, page: name, impact: v.impact, help: v.help,
          nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, fix: (n.summary || "").replace(/\s+/g, " ") })),
        }));
      }
      fail(`${name}: axe: ${grave.map((v) => `${v.id} (${v.impact}: ${v.help}) at ${v.nodes.map((n) => n.target).join(", ")}`).join("; ")}`);
    }
  }

  // `options` as playwright's (`mask`: elements painted over, a code new each run)
  async function shot(page, file, options = {}) {
    await fontsReady(page);
    await page.screenshot({ path: join(shots, file), fullPage: true, ...options });
  }

  return { fail, failures, audit, shot };
}
