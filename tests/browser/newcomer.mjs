// A newcomer's journey in a real browser (Debian's Chromium, headless, zh-CN, driven by
// playwright-core, with a virtual WebAuthn platform authenticator as in passkey.mjs): a person
// who has never seen the provider registers, signs in, sets up a passkey, sees their
// applications and signs out, then signs in again with the passkey — only by following what
// the pages say. Every step is a link, a button or a field found by its visible Chinese text
// (its accessible name: `getByRole`, `getByLabel`), never a selector or a typed address,
// except the two a person really has: the department application's sign-in (its "login"
// button sends the browser to the authorization URL) and the provider's own address typed
// into the address bar to reach the account centre.
//
//  1. the department application's sign-in → the sign-in page, which names the application
//     and says "还没有账号？ 注册账号" → "注册账号";
//  2. 手机号, "获取验证码", the code from the SMS (the development sender's outbox file), the
//     new password twice, the optional real-name details (姓名, 证件号码), "注册并登录";
//  3. the consent page naming the application: "同意" → the browser is sent to the redirect
//     URI with a code (watched, not loaded: nothing listens there);
//  4. the provider's address → the account centre's overview (the session is remembered) →
//     the card that mentions 通行密钥 (登录与安全) → a passkey (名称, 类型 通行密钥, "添加") →
//     the ten recovery codes → back → the passkey is listed;
//  5. "应用与授权" in the navigation: the application is listed under 已授权的应用;
//  6. "退出登录" in the header → the signed-out page → "重新登录" → "使用通行密钥登录" → the
//     account centre, no password typed; "账号活动" shows that sign-in, by passkey.
//
// The authenticator answers only when the person acts (presence is simulated around the two
// clicks that ask for it), as a real one waits for a touch: the username field's autofill
// request (conditional mediation) stays pending meanwhile, as it does in a real browser.
//
// Where the next thing a person would click is missing, ambiguous or leads elsewhere, the run
// fails at once saying what a newcomer would be stuck on, with the page's headings, alerts,
// links, buttons and labels. What would only confuse a newcomer (the page says something the
// person cannot relate to what they did) is printed as a {"confusing": …} line; with
// NEWCOMER_STRICT=1 the run fails at the end if there was any.
//
// usage: node newcomer.mjs <base URL> <authorization URL> <redirect URI> <SMS outbox file> [screenshot dir]
// Prints one JSON line per step and {"step":"done"}; exits non-zero on the first failure.
// Screenshots (full page), where a directory is given: newcomer-1-signin.png … newcomer-14-activity.png.
// NEWCOMER_PHONE overrides the phone number registered (default 13912345678).
import { chromium } from "playwright-core";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [base, authorizeUrl, redirectUri, outbox, shots] = process.argv.slice(2);
if (!outbox) {
  console.error("usage: node newcomer.mjs <base URL> <authorization URL> <redirect URI> <SMS outbox file> [screenshot dir]");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const strict = process.env.NEWCOMER_STRICT === "1";
const step = (name, detail = {}) => console.log(JSON.stringify({ step: name, ...detail }));
const PHONE = process.env.NEWCOMER_PHONE || "13912345678";
const PASSWORD = "Quiet-Harbour-Lantern-77";
const NAME = "艾达";
const ID_NUMBER = "220102199003070013";
const PASSKEY_NAME = "我的电脑";
if (shots) mkdirSync(shots, { recursive: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const squash = (s) => (s || "").replace(/\s+/g, " ").trim();

// What would confuse a newcomer without stopping them.
const confusions = [];
function confusing(where, what, shown) {
  confusions.push(`${where}: ${what}`);
  console.log(JSON.stringify({ confusing: what, where, shown }));
}

// What a newcomer could not get past: the message, and what the page offered instead.
class Stuck extends Error {}
async function stuck(page, message) {
  let seen = {};
  try {
    seen = await page.evaluate(() => {
      const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
      const text = (e) => (e.innerText || e.value || e.getAttribute("aria-label") || "").replace(/\s+/g, " ").trim();
      const all = (sel) => [...document.querySelectorAll(sel)].filter(visible).map(text).filter(Boolean);
      return {
        title: document.title,
        headings: all("h1, h2"),
        alerts: all("[role=alert], [role=status]"),
        links: all("a[href]"),
        buttons: all("button, input[type=submit], summary"),
        labels: all("label"),
      };
    });
  } catch (e) {
    seen = { unreadable: String(e) };
  }
  return new Stuck(`a newcomer is stuck: ${message}\n  at ${page.url()}\n  the page shows: ${JSON.stringify(seen)}`);
}

// The visible control with this role and name (a string is matched exactly, as the person
// reads it). Several that lead to the same place (the navigation and a card, say) are one
// choice; several that lead to different places are ambiguous.
async function control(page, role, name, why, { within = page, timeout = 5000 } = {}) {
  const all = within.getByRole(role, { name, exact: typeof name === "string" });
  try {
    await all.first().waitFor({ state: "visible", timeout });
  } catch {
    throw await stuck(page, `${why}: no ${role} "${name}" to be seen`);
  }
  const visible = [];
  for (const c of await all.all()) if (await c.isVisible()) visible.push(c);
  if (visible.length > 1) {
    const targets = new Set();
    for (const c of visible) {
      targets.add(role === "link"
        ? await c.evaluate((e) => e.href)
        : await c.evaluate((e) => `${e.form ? e.form.action : "?"} ${e.value || ""}`));
    }
    if (targets.size > 1) {
      throw await stuck(page, `${why}: ${visible.length} ${role}s "${name}" that lead to different places (${[...targets].join(", ")})`);
    }
  }
  return visible[0];
}

// The one visible field with this label.
async function field(page, label, why) {
  const f = page.getByLabel(label, { exact: typeof label === "string" });
  const n = await f.count();
  if (n === 0) throw await stuck(page, `${why}: no field labelled "${label}"`);
  if (n > 1) throw await stuck(page, `${why}: ${n} fields labelled "${label}"`);
  if (!(await f.isVisible())) throw await stuck(page, `${why}: the field "${label}" is not visible`);
  return f;
}

// Clicks and waits for the page it leads to (every form here posts and answers with a page).
async function follow(page, locator) {
  await Promise.all([page.waitForNavigation(), locator.click()]);
  await page.waitForLoadState("load");
}

const heading = (page) => page.locator("main h1").first().innerText().then((s) => s.trim()).catch(() => "");
const mainText = (page) => page.locator("main").innerText();
async function expectHeading(page, want, after) {
  const h = await heading(page);
  if (h !== want) throw await stuck(page, `${after} led to a page titled "${h}", not "${want}"`);
}

let shotNo = 0;
async function shot(page, name) {
  shotNo += 1;
  if (!shots) return;
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: join(shots, `newcomer-${shotNo}-${name}.png`), fullPage: true });
}

// The code in the SMS to `phone` written after the outbox's first `since` lines: the only run
// of six digits in the message.
function outboxLines() {
  if (!existsSync(outbox)) return [];
  return readFileSync(outbox, "utf8").split("\n").filter(Boolean);
}
async function smsCode(phone, since) {
  const e164 = `+86${phone}`;
  for (let i = 0; i < 100; i++) {
    const line = outboxLines().slice(since).reverse().find((l) => l.startsWith(`${e164}\t`));
    if (line) {
      const message = line.slice(e164.length + 1);
      const runs = (message.match(/\d+/g) || []).filter((r) => r.length === 6);
      if (runs.length !== 1) throw new Error(`the SMS to ${e164} has ${runs.length} six-digit codes: ${message}`);
      return { code: runs[0], message };
    }
    await sleep(100);
  }
  throw new Error(`no SMS to ${e164} in ${outbox} within 10 s (lines: ${outboxLines().length}, before: ${since})`);
}

const browser = await chromium.launch({
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
try {
  const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
  });
  // the department application's redirect URI has no server: its request is watched
  let callback = null;
  page.on("request", (r) => { if (r.url().startsWith(redirectUri)) callback = r.url(); });

  // The person's own device: a platform authenticator (a phone's or a laptop's), discoverable
  // credentials, user verification; it answers when the person touches it.
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: false,
    },
  });
  const touch = (on) => cdp.send("WebAuthn.setAutomaticPresenceSimulation", { authenticatorId, enabled: on });

  // 1. The department application's "login" button: the provider's sign-in page, which
  //    names the application and offers registration.
  await page.goto(authorizeUrl);
  await page.waitForLoadState("networkidle");
  await expectHeading(page, "登录", "the application's sign-in button");
  const signinText = await mainText(page);
  const appName = (signinText.match(/登录以继续使用[ \t]*([^\n]+)/) || [])[1]?.trim();
  if (!appName) throw await stuck(page, "the sign-in page does not say which application the person is signing in to");
  const alarms = await page.locator("main [role=alert]:visible").allInnerTexts();
  if (alarms.length) throw await stuck(page, `the first sign-in page shows an alert before the person did anything: ${alarms.join(" ")}`);
  if (!/还没有账号？\s*注册账号/.test(signinText)) {
    throw await stuck(page, "the sign-in page does not say \"还没有账号？ 注册账号\": a person without an account does not know where to begin");
  }
  await shot(page, "signin");
  step("signin_page", { url: page.url(), application: appName });
  await follow(page, await control(page, "link", "注册账号", "a person without an account wants to register"));

  // 2. Registration: the number, the code sent to it, a password, the real name (optional).
  await expectHeading(page, "注册账号", "\"注册账号\"");
  const intro = squash(await mainText(page));
  if (!intro.includes(appName)) confusing("register", `the registration page does not name ${appName}, where the person came from`, intro);
  await shot(page, "register");
  await (await field(page, "手机号", "registration asks for the phone number")).fill(PHONE);
  const before = outboxLines().length;
  await follow(page, await control(page, "button", "获取验证码", "the code must be asked for"));
  const { code, message } = await smsCode(PHONE, before);
  const notice = squash((await page.locator("main [role=status]").allInnerTexts()).join(" "));
  if (!notice) confusing("register", "no notice says the code was sent", await mainText(page));
  else if (/^如果/.test(notice)) confusing("register", "the notice only says the code was sent \"if\" the person may go on", notice);
  step("code_sent", { notice, sms: message });
  // the label names the number the code went to: 验证码 (+86…)
  await (await field(page, /^(短信)?验证码/, "the SMS code goes in a field the page names")).fill(code);
  await (await field(page, "新密码", "the registration asks for a password")).fill(PASSWORD);
  await (await field(page, "再次输入新密码", "the password is asked twice")).fill(PASSWORD);
  // the rules are marked as the person types
  const rules = page.locator("main li", { hasText: /字符|字母|常见密码/ });
  const ruleCount = await rules.count();
  const rulesText = squash(await mainText(page));
  const met = rulesText.match(/已满足 (\d+)\/(\d+) 项要求/);
  if (met && met[1] !== met[2]) throw await stuck(page, `the password ${PASSWORD} meets only ${met[0]}`);
  if (met && Number(met[2]) !== ruleCount) {
    // the marks are the stylesheet's (::before), as the person sees them
    const marks = await rules.evaluateAll((lis) => lis.map((li) => [getComputedStyle(li, "::before").content, li.innerText]));
    const unticked = squash(marks.filter(([m]) => !m.includes("✓")).map(([, t]) => t).join("; "));
    confusing("register", `the page lists ${ruleCount} password rules but counts "${met[0]}": the one left unticked (${unticked}) looks unmet`, met[0]);
  }
  let realname = false;
  const optional = page.getByText("现在完成实名认证（可选）", { exact: true });
  if (await optional.count()) {
    // (a <details>: opened by its summary, unless it is open already)
    if (!(await page.getByLabel("姓名", { exact: true }).isVisible())) await optional.click();
    await (await field(page, "姓名", "the real name is asked")).fill(NAME);
    const type = await field(page, "证件类型", "the ID type is asked");
    const chosen = await type.evaluate((s) => s.options[s.selectedIndex].text);
    if (chosen !== "居民身份证") throw await stuck(page, `the ID type preselected is ${chosen}, not 居民身份证`);
    await (await field(page, "证件号码", "the ID number is asked")).fill(ID_NUMBER);
    realname = true;
  }
  await shot(page, "register-code");
  await follow(page, await control(page, "button", "注册并登录", "the registration is sent with its button"));
  step("registered", { phone: PHONE, realname, url: page.url() });

  // 3. Consent for the department application, then back to it with a code.
  await expectHeading(page, "授权确认", "\"注册并登录\"");
  const consentText = squash(await mainText(page));
  if (!consentText.includes(appName)) throw await stuck(page, `the consent page does not name ${appName}, the application the person came from`);
  const who = (consentText.match(/当前登录账号：\s*(\S+)/) || [])[1];
  if (who && !who.includes(PHONE.slice(-4)) && !who.includes(NAME)) {
    confusing("consent", `"当前登录账号：${who}" is a generated username the person never chose nor saw; they registered with ${PHONE}`, consentText);
  }
  await shot(page, "consent");
  await (await control(page, "button", "同意", "the person allows the application")).click();
  for (let i = 0; i < 100 && !callback; i++) await sleep(50);
  if (!callback || !callback.includes("code=")) throw await stuck(page, `"同意" did not send the browser back to the application with a code: ${callback}`);
  // the load itself fails (nothing listens there): let the browser's error page settle
  await page.waitForURL((u) => !u.href.startsWith(base), { timeout: 5000 }).catch(() => {});
  await page.waitForLoadState("load").catch(() => {});
  step("consented", { callback });

  // 4. The account centre from the provider's address (the one typed address: its one primary
  //    button); the session is remembered. The overview's card that mentions passkeys leads to 登录与安全.
  await page.goto(`${base}/`);
  await page.waitForLoadState("load");
  await follow(page, await control(page, "link", "进入个人账号中心", "the provider's address"));
  await expectHeading(page, "我的账号", "the provider's address, then 进入个人账号中心 (the person was signed in a moment ago)");
  const overview = squash(await mainText(page));
  await shot(page, "account");
  const level = (overview.match(/实名等级：\s*\d\s*—\s*\S+/) || overview.match(/尚未实名认证。/) || [null])[0];
  if (realname && /填写姓名和身份证号/.test(overview)) {
    confusing("account", `the person gave ${NAME} / ${ID_NUMBER} at registration, yet the overview says "${level}" and asks to "填写姓名和身份证号" again`, overview);
  }
  if (/账号活动\s*暂无记录/.test(overview)) {
    confusing("account", "the 账号活动 card says 暂无记录 although registering has just signed the person in (the card counts sign-ins before this one: for a first one it could say so)", overview);
  }
  // (for the log: what the overview asks the person to attend to)
  const attention = await page.locator("main h2:has-text('需要您注意') + *").innerText().catch(() => "");
  const toSecurity = await control(page, "link", /通行密钥/, "the person looks for where to add a passkey: the overview should mention 通行密钥");
  const cardText = squash(await toSecurity.innerText());
  await follow(page, toSecurity);
  await expectHeading(page, "登录与安全", `the card "${cardText}"`);
  step("account_overview", { url: page.url(), realname: level, attention: squash(attention), card: cardText });
  await shot(page, "security");
  const securityText = squash(await mainText(page));
  if (!securityText.includes("通行密钥")) throw await stuck(page, "the 登录与安全 section never says 通行密钥");
  await (await field(page, "名称", "a passkey is named")).fill(PASSKEY_NAME);
  const kind = await field(page, "类型", "a passkey or a security key is chosen");
  await kind.selectOption({ label: "通行密钥" });
  const add = await control(page, "button", "添加", "the passkey is added with its button");
  await touch(true);
  await follow(page, add);
  await touch(false);
  await expectHeading(page, "恢复码", "adding the passkey");
  const codes = await page.locator("main li code").count();
  if (codes !== 10) throw await stuck(page, `expected ten recovery codes, the page shows ${codes}`);
  const codesText = squash(await mainText(page));
  if (!codesText.includes("通行密钥")) {
    confusing("recovery codes", "after 添加 the page does not say the passkey was added; it shows recovery codes straight away", codesText);
  }
  if (/手机丢失时/.test(codesText) && !/通行密钥|密钥丢失/.test(codesText)) {
    confusing("recovery codes", "the recovery codes are explained for a lost phone standing in for \"验证码\", while the person has just added a passkey on this device", codesText);
  }
  await shot(page, "recovery-codes");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    throw new Error(`expected one resident credential: ${JSON.stringify(credentials)}`);
  }
  // the page's only way on
  const links = page.locator("main a:visible");
  if ((await links.count()) !== 1) throw await stuck(page, "after the recovery codes the person does not know which link to follow");
  const onward = squash(await links.innerText());
  await follow(page, await control(page, "link", onward, "after the recovery codes the person goes back"));
  await expectHeading(page, "登录与安全", `"${onward}" after the recovery codes`);
  const keys = page.locator("main li", { hasText: PASSKEY_NAME });
  if (!(await keys.count())) throw await stuck(page, `the passkey just added (${PASSKEY_NAME}) is not listed in 登录与安全`);
  const listed = squash(await keys.first().innerText());
  const afterText = squash(await mainText(page));
  if (/两步验证\s*未开启/.test(afterText)) {
    confusing("security", "with a passkey added, 两步验证 still says 未开启", afterText.match(/两步验证\s*未开启[^。]*。/)[0]);
  }
  if (!(await page.getByRole("button", { name: "添加", exact: true }).count()) && !/要再添加/.test(afterText)) {
    confusing("security", "after the first passkey the 添加 form is gone without a word: a person wanting a second passkey (a phone) is not told how", afterText);
  }
  await shot(page, "security-passkey");
  step("passkey_added", { recovery_codes: codes, onward, listed });

  // 5. The applications the person allowed.
  const nav = page.getByRole("navigation", { name: "账号中心" });
  await follow(page, await control(page, "link", "应用与授权", "the person looks for their applications", { within: nav }));
  await expectHeading(page, "应用与授权", "\"应用与授权\"");
  const appsText = squash(await mainText(page));
  if (!appsText.includes("已授权的应用")) throw await stuck(page, "应用与授权 has no list titled 已授权的应用");
  const app = page.locator("main li", { hasText: appName });
  if (!(await app.count())) throw await stuck(page, `the application just allowed (${appName}) is not listed under 已授权的应用`);
  await shot(page, "applications");
  step("applications", { listed: squash(await app.first().innerText()) });

  // 6. Sign out in the header; sign in again with the passkey.
  await follow(page, await control(page, "button", "退出登录", "the person signs out", { within: page.locator("header") }));
  if ((await heading(page)) !== "已退出登录") {
    // a confirmation, where there is one, answered by its own button
    const again = page.getByRole("button", { name: "退出登录", exact: true });
    if (await again.count()) await follow(page, again.first());
  }
  await expectHeading(page, "已退出登录", "\"退出登录\"");
  const outText = squash(await mainText(page));
  await shot(page, "signed-out");
  await follow(page, await control(page, "link", "重新登录", "the person wants to sign in again"));
  await page.waitForLoadState("networkidle");
  await expectHeading(page, "登录", "\"重新登录\"");
  const againAlarms = await page.locator("main [role=alert]:visible").allInnerTexts();
  if (againAlarms.length) throw await stuck(page, `the sign-in page shows an alert before the person did anything: ${againAlarms.join(" ")}`);
  await shot(page, "signin-again");
  const signCount = credentials[0].signCount;
  const passkeyButton = await control(page, "button", "使用通行密钥登录", "the person signs in with the passkey");
  // nothing typed: the password field is empty when the passkey signs in
  const passwordTyped = (await page.getByLabel("密码", { exact: true }).inputValue()) !== "";
  if (passwordTyped) throw new Error("a password was typed on the passkey sign-in");
  await touch(true);
  try {
    await Promise.all([page.waitForURL(/\/account$/, { timeout: 10000 }), passkeyButton.click()]);
  } catch (e) {
    throw await stuck(page, `"使用通行密钥登录" did not sign the person in: ${e.message.split("\n")[0]}`);
  }
  await touch(false);
  await page.waitForLoadState("load");
  await expectHeading(page, "我的账号", "the passkey sign-in");
  const used = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0];
  if (!(used.signCount > signCount)) throw new Error(`the passkey was not used: ${JSON.stringify(used)}`);
  const home = squash(await mainText(page));
  await shot(page, "passkey-signed-in");
  if (/您的账号一切正常/.test(home) && /两步验证未开启/.test(home)) {
    confusing("account", "the overview says 您的账号一切正常 while its 登录与安全 card says 两步验证未开启", home);
  }
  // what the person sees of that sign-in: this device's session, signed in by passkey
  const accountNav = page.getByRole("navigation", { name: "账号中心" });
  await follow(page, await control(page, "link", "设备与会话", "the person checks how they are signed in", { within: accountNav }));
  await expectHeading(page, "设备与会话", "\"设备与会话\"");
  const here = page.locator("main li", { hasText: "当前设备" });
  const latest = squash(await here.first().innerText().catch(() => ""));
  if (!latest) throw await stuck(page, "设备与会话 does not mark this device's session (当前设备)");
  if (!latest.includes("通行密钥")) {
    // a passkey kept on this device only (not synchronised: amr hwk) is named as a security key
    confusing("devices", `the person signed in with the 通行密钥 they added, but this device's session says "${(latest.match(/两步验证[^·]*·\s*([^·]+)/) || [, latest])[1].trim()}"`, latest);
  }
  await shot(page, "devices");
  // and the sign-ins the person made (registering signed them in too)
  await follow(page, await control(page, "link", "账号活动", "the person checks their sign-ins", { within: accountNav }));
  await expectHeading(page, "账号活动", "\"账号活动\"");
  const history = (await page.locator("main li:not(nav li)").allInnerTexts()).map(squash);
  if (history.filter((h) => h.includes("登录成功")).length < 2) {
    confusing("activity", `账号活动 lists ${history.length} sign-in(s) although the person signed in twice (registering, then the passkey)`, history);
  }
  if (history.length && !/通行密钥|短信|密码/.test(history[0])) {
    confusing("activity", "账号活动 says 登录成功 without how (设备与会话 does say how)", history[0]);
  }
  await shot(page, "activity");
  step("passkey_sign_in", { signed_out: outText, session: latest, history, password_typed: passwordTyped });

  if (errors.length) throw new Error(`script errors: ${errors.join("; ")}`);
  if (strict && confusions.length) throw new Error(`${confusions.length} confusing place(s), above: ${confusions.join("; ")}`);
  step("done", { confusing: confusions.length });
} catch (e) {
  console.log(JSON.stringify({ error: e instanceof Stuck ? e.message : String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
