// The administrators' console walked in Debian's Chromium as a new deployment's administrators
// meet it, with a screenshot of each step and axe-core on each page (no serious or critical
// violation). From the provider's root page: the bootstrap administrator signs in with the
// printed password, sets up an authenticator inside that sign-in (the code computed here from
// the key the page shows), keeps the recovery codes and lands on the dashboard; registers an
// application (its secret in a panel, gone after Back), rotates the secret after a confirmation
// that can be cancelled, disables it (a reload lands on the page again), is refused disabling
// the console itself; edits an application when the console session has expired in between
// (the sign-in happens again by itself and the typed name comes back); the security
// administrator is refused locking their own account, revoking the key signing administrators'
// tokens needs its kid typed, every second factor switched off is refused; the dashboard on a
// phone, its menu opened.
//
// usage: node console_walk.mjs <provider URL> <bootstrap user> <password> <now (the provider's
//   Unix time)> <security admin> <password> <its TOTP secret, base32> <session seconds> <artefact dir>
// Prints one JSON line per step; exits non-zero on the first failure.
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { DESKTOP, PHONE, axeOf, launch, loadAxe, step, watch } from "./audit.mjs";

const [base, user, password, nowArg, secUser, secPassword, secSecret, sessionArg, artefacts] = process.argv.slice(2);
const now = Number(nowArg);
const sessionSeconds = Number(sessionArg);
mkdirSync(artefacts, { recursive: true });
const axeSource = loadAxe();
const started = Date.now();

// RFC 6238 with SHA-1, 30-second steps, 6 digits, at the provider's time (RFC 4648 base32 key)
function totp(base32, at) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const o = mac[mac.length - 1] & 0xf;
  const n = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(n % 1_000_000).padStart(6, "0");
}

const browser = await launch();
try {
  const errors = [];
  const open = async (options) => {
    const context = await browser.newContext({ locale: "zh-CN", viewport: DESKTOP, ...options });
    const page = await context.newPage();
    watch(page, errors);
    page.cdp = await context.newCDPSession(page);
    return { context, page };
  };
  const shot = (page, name) => page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: true });
  const nav = (page, action) => Promise.all([page.waitForNavigation(), action]);
  async function audited(page, name) {
    await page.waitForLoadState("load");
    await shot(page, name);
    const { violations } = await axeOf(page, page.cdp, axeSource, name);
    const grave = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    if (grave.length) {
      throw new Error(`${name}: axe: ${grave.map((v) => `${v.id} (${v.help}) at ${v.nodes.map((n) => n.target).join(", ")}`).join("; ")}`);
    }
    step(name, { url: page.url(), axe_minor: violations.map((v) => v.id) });
  }
  const text = (page, sel) => page.locator(sel).first().innerText().catch(() => "");
  // the console session lasts `sessionSeconds` (the console's token): before a step that posts,
  // a session about to end is let end and renewed by a reload (the provider's session answers)
  let signedAt = Date.now();
  async function fresh(page) {
    const age = (Date.now() - signedAt) / 1000;
    if (age > sessionSeconds - 12) {
      await page.waitForTimeout(Math.max(0, (sessionSeconds + 1 - age) * 1000));
      await page.reload();
      await page.waitForLoadState("load");
      signedAt = Date.now();
    }
  }

  // 1. the root page leads to the console; the bootstrap administrator signs in
  const { page } = await open();
  await page.goto(`${base}/`);
  await audited(page, "01-root");
  await nav(page, page.click("a#console"));
  await page.fill("#login", user);
  await page.fill("#password", password);
  await audited(page, "02-sign-in");
  await nav(page, page.click("form[action$='/login'] button[type=submit]"));
  // 2. led through setting up a second factor, inside the sign-in
  if (!(await page.locator("#enrol-start").count())) throw new Error(`not offered to set up a factor: ${page.url()}`);
  await audited(page, "03-set-up-offered");
  await nav(page, page.click("#enrol-start"));
  const key = (await text(page, "#totp-key")).replace(/\s+/g, "");
  await audited(page, "04-authenticator");
  await page.fill("#code", totp(key, now));
  await nav(page, page.click("form[action$='/enrol/confirm'] button[type=submit]"));
  if (!(await page.locator("ul.codes").count())) throw new Error(`no recovery codes: ${page.url()}`);
  await audited(page, "05-recovery-codes");
  await nav(page, page.click("#carry-on"));
  if (await page.locator("button[value=allow]").count()) {
    await audited(page, "06-consent");
    await nav(page, page.click("button[value=allow]"));
  }
  await page.waitForSelector("svg#signins");
  signedAt = Date.now();
  const who = await text(page, "#who-name");
  if (!page.url().startsWith(`${base}/console`) || !who) throw new Error(`not on the dashboard: ${page.url()}`);
  await audited(page, "07-dashboard");
  step("first_sign_in", { seconds: (Date.now() - started) / 1000, who });

  // 3. an application: its secret once, in a panel naming it; gone after Back
  await nav(page, page.click("nav.wide a[href='/console/clients']"));
  await audited(page, "08-clients");
  await fresh(page);
  await page.fill("form#register input[name=name]", "不动产登记系统");
  await page.fill("form#register input[name=redirect_uri]", "https://bdc.example.gov.cn/callback");
  await nav(page, page.click("form#register button[type=submit]"));
  await page.waitForSelector("#secret-value");
  const client = await page.getAttribute("#secret", "data-client");
  const panel = await text(page, "#secret");
  if (!panel.includes("不动产登记系统")) throw new Error(`the secret panel does not name the client: ${panel}`);
  await audited(page, "09-secret-once");
  await nav(page, page.click("nav.wide a[href='/console/']"));
  await page.goBack();
  await page.waitForLoadState("load");
  if (await page.locator("#secret-value").count()) throw new Error("the secret came back with Back");
  await shot(page, "10-back-without-secret");
  step("back_after_secret", { url: page.url() });

  // 4. rotation: the dialog names the client; cancelled nothing happens; confirmed a new secret
  await fresh(page);
  const row = `tr[data-client="${client}"]`;
  await page.click(`${row} button[value=rotate]`);
  await page.waitForSelector("dialog#confirm[open]");
  const asked = await text(page, "#confirm-text");
  if (!asked.includes("不动产登记系统")) throw new Error(`the confirmation does not name the client: ${asked}`);
  await audited(page, "11-confirm-rotation");
  await page.click("#confirm-cancel");
  if (await page.locator("#secret-value").count()) throw new Error("cancelled, yet rotated");
  await page.click(`${row} button[value=rotate]`);
  await page.waitForSelector("dialog#confirm[open]");
  await nav(page, page.click("#confirm-ok"));
  await page.waitForSelector("#secret-value");
  step("rotated", { client });

  // 5. disabled after the dialog; a reload of the page after it is the page again
  await fresh(page);
  await page.click(`${row} button[name=do][value=switch]`);
  await page.waitForSelector("dialog#confirm[open]");
  await nav(page, page.click("#confirm-ok"));
  const said = await text(page, "p[role=status]");
  if (!said.includes("已停用")) throw new Error(`no flash after disabling: ${said}`);
  const reloaded = await page.reload();
  if (reloaded.status() !== 200) throw new Error(`a reload after disabling answered ${reloaded.status()}`);
  await audited(page, "12-after-disable-reloaded");

  // 6. the console's own client offers no disabling nor rotation, and a post doing it anyway
  // (a page left over, another tool) is refused by the API, said in Chinese
  if (await page.locator(`tr[data-client="console"] button`).count()) throw new Error("the console's own client offers actions");
  await fresh(page);
  const csrf = await page.getAttribute("input[name=csrf]", "value");
  await page.evaluate((token) => {
    const f = document.createElement("form");
    f.method = "post";
    f.action = "/console/clients/console/disable";
    for (const [k, v] of [["csrf", token], ["back", "/console/clients"]]) {
      const i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = v;
      f.appendChild(i);
    }
    document.body.appendChild(f);
    f.setAttribute("hx-boost", "false");
    f.submit();
  }, csrf);
  await page.waitForLoadState("load");
  await page.waitForSelector("p[role=alert]");
  const refused = await text(page, "p[role=alert]");
  if (!refused.includes("管理控制台")) throw new Error(`disabling the console was not refused: ${refused}`);
  await audited(page, "13-console-client-refused");

  // 7. the session ends mid-edit: the next save signs in again by itself, what was typed back
  await nav(page, page.click(`${row} a[href="/console/clients/${client}"]`));
  await page.waitForSelector("form#edit-client");
  await page.fill("form#edit-client input[name=name]", "不动产登记系统（新版）");
  const wait = Math.max(0, sessionSeconds + 1 - (Date.now() - signedAt) / 1000);
  step("waiting_for_the_session_to_end", { seconds: Math.round(wait) });
  await page.waitForTimeout(wait * 1000);
  await nav(page, page.click("form#edit-client button[type=submit]"));
  await page.waitForSelector("form#edit-client");
  signedAt = Date.now();
  const kept = await page.inputValue("form#edit-client input[name=name]");
  const resumed = await text(page, "p[role=status]");
  if (kept !== "不动产登记系统（新版）" || !resumed.includes("重新登录")) {
    throw new Error(`after the sign-in in between: name ${JSON.stringify(kept)}, message ${JSON.stringify(resumed)}`);
  }
  await audited(page, "14-signed-in-again-form-kept");
  await nav(page, page.click("form#edit-client button[type=submit]"));
  if (!(await text(page, "p[role=status]")).includes("已保存")) throw new Error("not saved after signing in again");
  step("expiry_mid_edit", { kept });

  // 8. the other pages, each audited
  for (const [href, name] of [["/console/settings", "15-settings"], ["/console/organisations", "16-organisations"], ["/console/tenants", "17-tenants"]]) {
    await nav(page, page.click(`nav.wide a[href='${href}']`));
    await audited(page, name);
  }

  // a refusal stands beside the form it is about, with what was typed
  await nav(page, page.click("nav.wide a[href='/console/settings']"));
  await fresh(page);
  await page.fill("form#rules input[name=session_idle_seconds]", "120");
  await page.fill("form#rules input[name=session_absolute_seconds]", "60");
  await page.click("form#rules button[type=submit]");
  // (the page comes back with the form kept and filled in again by console.js)
  await page.waitForSelector("#kept[data-done='1']", { state: "attached" });
  const beside = await page.evaluate(() => {
    const prev = document.querySelector("form#rules").previousElementSibling;
    return prev && prev.getAttribute("role") === "alert" ? prev.textContent : "";
  });
  const typed = await page.inputValue("form#rules input[name=session_idle_seconds]");
  if (!beside.includes("短于") || typed !== "120") throw new Error(`the refusal: ${JSON.stringify(beside)}, typed ${typed}`);
  await audited(page, "18a-refusal-beside-the-form");

  // 9. the security administrator: their own account, the signing key, the second factors
  const sec = (await open()).page;
  await sec.goto(`${base}/console/`);
  await sec.fill("#login", secUser);
  await sec.fill("#password", secPassword);
  await nav(sec, sec.click("form[action$='/login'] button[type=submit]"));
  await sec.fill("#code", totp(secSecret, now));
  await nav(sec, sec.click("form[action$='/totp'] button[type=submit]"));
  if (await sec.locator("button[value=allow]").count()) await nav(sec, sec.click("button[value=allow]"));
  await sec.waitForSelector("svg#signins");
  await nav(sec, sec.goto(`${base}/console/accounts?q=${secUser}`));
  await audited(sec, "18-accounts");
  await nav(sec, sec.click(`table#accounts a`));
  await sec.click("button[name=do][value=lock]");
  await sec.waitForSelector("dialog#confirm[open]");
  await nav(sec, sec.click("#confirm-ok"));
  const own = await text(sec, "p[role=alert]");
  if (!own.includes("自己的账号")) throw new Error(`locking one's own account was not refused: ${own}`);
  await audited(sec, "19-own-lock-refused");
  await nav(sec, sec.click("nav.wide a[href='/console/keys']"));
  await audited(sec, "20-keys");
  const signing = sec.locator("button[data-confirm-name]").first();
  const kid = await signing.getAttribute("data-confirm-name");
  await signing.click();
  await sec.waitForSelector("dialog#confirm[open]");
  if (!(await sec.locator("#confirm-ok").isDisabled())) throw new Error("the signing key's revocation did not ask for its kid");
  await sec.fill("#confirm-name", "not-the-kid");
  if (!(await sec.locator("#confirm-ok").isDisabled())) throw new Error("a wrong kid enabled the revocation");
  await shot(sec, "21-revoke-needs-kid");
  await sec.click("#confirm-cancel");
  step("revocation_needs_kid", { kid });
  await nav(sec, sec.click("nav.wide a[href='/console/settings']"));
  for (const box of await sec.locator("form#rules input[name=factor]").all()) await box.uncheck();
  await nav(sec, sec.click("form#rules button[type=submit]"));
  const factors = await text(sec, "p[role=alert]");
  if (!factors.includes("第二重验证")) throw new Error(`every second factor off was not refused: ${factors}`);
  await audited(sec, "22-all-factors-off-refused");

  // 10. on a phone: the navigation is a menu
  const phone = (await open({ ...PHONE, viewport: PHONE.viewport })).page;
  await phone.context().addCookies(await page.context().cookies());
  await phone.goto(`${base}/console/`);
  await phone.waitForSelector("svg#signins");
  await phone.click("details.menu summary");
  await audited(phone, "23-phone-menu");

  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  step("done", { client, seconds: (Date.now() - started) / 1000 });
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
