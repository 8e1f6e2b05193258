// Signing in through an upstream identity provider in a real browser (Debian's Chromium,
// headless, driven by playwright-core; the upstream is node oidc-provider, its development
// sign-in and consent pages): the sign-in page with its "通过…登录" link, the notice after a first
// sign-in there that nothing links, the person's own sign-in here, the question whether to link
// (answered "link"), and the account's security section listing the linked provider. Each of
// this provider's pages is audited as pages.mjs audits them (axe WCAG 2.1 AA, weight, language,
// one <h1>, no alert before the person acts on the first sign-in page) and pictured:
// upstream-signin.png, upstream-prove.png, upstream-link.png, account-links.png.
//
// usage: node upstream.mjs <base URL> <authorization URL> <redirect URI> <username> <password> <screenshot dir>
// Prints one JSON line per step; exits non-zero on the first failure.
import { mkdirSync } from "node:fs";
import { DESKTOP, launch, meter, run, step, watch } from "./audit.mjs";

const [base, authorizeUrl, redirectUri, username, password, shots] = process.argv.slice(2);
if (!shots) {
  console.error("usage: node upstream.mjs <base URL> <authorization URL> <redirect URI> <username> <password> <screenshot dir>");
  process.exit(2);
}
const { fail, audit, shot } = run({ shots });
mkdirSync(shots, { recursive: true });
const browser = await launch();

try {
  const context = await browser.newContext({ locale: "zh-CN", viewport: DESKTOP });
  const page = await context.newPage();
  const errors = [];
  watch(page, errors);
  const m = await meter(context, page);

  // 1. the sign-in page offers the upstream, in plain words, with nothing alarming
  m.reset();
  await page.goto(authorizeUrl);
  await page.waitForSelector("#login");
  if (await page.locator("[role=alert]:visible, .error:visible").count()) fail("upstream_signin: an alert before the person acted");
  const link = page.getByRole("link", { name: "通过国家政务服务平台登录" });
  if ((await link.count()) !== 1) fail("upstream_signin: no link 通过国家政务服务平台登录");
  await audit(page, m, "upstream_signin", "zh");
  await shot(page, "upstream-signin.png");

  // 2. at the upstream: its own sign-in and consent pages
  await Promise.all([page.waitForURL((u) => !u.href.startsWith(base)), link.click()]);
  await page.fill("input[name=login]", "stranger-at-gov");
  await page.fill("input[name=password]", "anything");
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  m.reset();
  if (await page.locator("input[name=prompt][value=consent]").count()) {
    await Promise.all([page.waitForURL((u) => u.href.startsWith(base)), page.click("button[type=submit]")]);
  }

  // 3. back here, nothing links that subject: a polite notice (the callback's answer, a
  // status, not an alert), and the person signs in here once
  await page.waitForSelector("#login");
  if (!(await page.locator("p.notice[role=status]").count())) fail("upstream_prove: no notice");
  if (await page.locator("[role=alert]:visible").count()) fail("upstream_prove: an alert");
  await audit(page, m, "upstream_prove", "zh");
  await shot(page, "upstream-prove.png");
  await page.fill("#login", username);
  await page.fill("#password", password);
  m.reset();
  await Promise.all([page.waitForNavigation(), page.click("#signin button[type=submit]")]);

  // 4. the question whether to link, answered "link"
  await page.waitForSelector("#link-yes");
  await audit(page, m, "upstream_link", "zh");
  await shot(page, "upstream-link.png");
  const toClient = page.waitForRequest((r) => r.url().startsWith(redirectUri), { timeout: 15000 });
  await page.click("#link-yes");
  if (await page.waitForSelector("button[value=allow]", { timeout: 3000 }).catch(() => null)) {
    await page.click("button[value=allow]");
  }
  const done = await toClient;
  if (!/[?&]code=/.test(done.url())) fail(`the client got no code: ${done.url()}`);
  step("linked", { to: done.url().split("?")[0] });

  // 5. the account pages list the linked provider (in a new tab: the first is left on the
  // browser's error page for the redirect URI, which has no server)
  const tab = await context.newPage();
  watch(tab, errors);
  const m2 = await meter(context, tab);
  m2.reset();
  await tab.goto(`${base}/t/main/account/security`);
  await tab.waitForSelector("#links li[data-upstream=gov]");
  await audit(tab, m2, "account_links", "zh");
  // (the link's time is new each run: painted over, so the picture changes only with the page)
  await shot(tab, "account-links.png", { mask: [tab.locator("#links time")] });

  if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  step("done");
} catch (e) {
  step("failed", { error: String(e) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
