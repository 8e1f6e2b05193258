// The admin console in a real browser: Debian's Chromium, headless, driven by playwright-core.
// An administrator opens the console, is sent to the idp, signs in with the password and a
// TOTP code (given by the test, computed on the provider's test clock), allows the console,
// lands on the dashboard, registers a client, sees it listed, rotates its secret after a
// confirmation naming it (shown once each time). Screenshots of each page go to the artefact directory.
//
// usage: node console.mjs <console URL> <username> <password> <TOTP code> <artefact dir>
// Prints one JSON line per step; exits non-zero on the first failure.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [consoleUrl, username, password, code, artefacts] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const step = (name, detail = {}) => console.log(JSON.stringify({ step: name, ...detail }));
mkdirSync(artefacts, { recursive: true });

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
try {
  const page = await (await browser.newContext({ locale: "zh-CN" })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(`${m.text()} @ ${page.url()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
  });
  await page.addInitScript(() => document.addEventListener("securitypolicyviolation", (e) => {
    const t = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 160) : String(e.target);
    console.error(`CSP ${e.violatedDirective} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} on ${t}`);
  }));
  const shot = (name) => page.screenshot({ path: `${artefacts}/${name}.png`, fullPage: true });

  // to the idp and back, with two factors
  await page.goto(consoleUrl);
  await page.fill("input[name=login]", username);
  await page.fill("input[name=password]", password);
  await shot("1-idp-sign-in");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  await page.fill("input[name=code]", code);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  step("second factor");
  if (await page.locator("button[value=allow]").count()) {
    await Promise.all([page.waitForNavigation(), page.click("button[value=allow]")]);
  }
  await page.waitForSelector("svg#signins");
  if (!page.url().startsWith(consoleUrl)) throw new Error(`not back at the console: ${page.url()}`);
  await shot("2-dashboard");
  step("dashboard");

  // register a client, see it listed
  await page.click("nav.wide a[href='/console/clients']");
  await page.waitForSelector("form#register");
  await page.fill("form#register input[name=name]", "不动产登记系统");
  await page.fill("form#register input[name=redirect_uri]", "https://bdc.example.gov.cn/callback");
  await page.click("form#register button[type=submit]");
  await page.waitForSelector("#secret");
  const client = await page.getAttribute("#secret", "data-client");
  const first = await page.textContent("#secret code");
  await page.waitForSelector(`tr[data-client="${client}"]`);
  await shot("3-client-registered");
  step("registered", { client });

  // rotate its secret
  await page.click(`tr[data-client="${client}"] button[value=rotate]`);
  // the confirmation names the client and says what the overlap does
  await page.waitForSelector("dialog#confirm[open]");
  const asked = await page.textContent("#confirm-text");
  if (!asked.includes("不动产登记系统")) throw new Error(`the confirmation does not name the client: ${asked}`);
  await shot("4a-confirm-rotation");
  await page.click("#confirm-ok");
  await page.waitForFunction((old) => {
    const c = document.querySelector("#secret code");
    return c && c.textContent !== old;
  }, first);
  await shot("4-secret-rotated");
  step("rotated", { client });

  // the client's own page, and the tenant's settings
  await page.click(`tr[data-client="${client}"] a[href="/console/clients/${client}"]`);
  await page.waitForSelector("form#edit-client");
  await shot("5-client-detail");
  await page.click("nav.wide a[href='/console/settings']");
  await page.waitForSelector("form#branding");
  await shot("6-settings");
  step("pages");

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  step("done", { client });
} finally {
  await browser.close();
}
