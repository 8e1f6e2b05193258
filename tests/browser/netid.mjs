// Signing in with the national network identity service's simulator in a real browser (Debian's
// Chromium, headless, driven by playwright-core): the sign-in page's "通过国家网络身份认证登录"
// link, the simulator's stand-in for the app (asked to release the name and ID number), and
// back to the client. The simulator's page is audited as pages.mjs audits pages (axe WCAG 2.1
// AA, weight, language, one <h1>, no alert before the person acts) and pictured:
// netid-simulator.png.
//
// usage: node netid.mjs <base URL> <authorization URL> <redirect URI> <screenshot dir>
// Prints one JSON line per step; exits non-zero on the first failure.
import { mkdirSync } from "node:fs";
import { DESKTOP, launch, meter, run, step, watch } from "./audit.mjs";

const [base, authorizeUrl, redirectUri, shots] = process.argv.slice(2);
if (!shots) {
  console.error("usage: node netid.mjs <base URL> <authorization URL> <redirect URI> <screenshot dir>");
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

  await page.goto(authorizeUrl);
  await page.waitForSelector("#login");
  const link = page.getByRole("link", { name: "通过国家网络身份认证登录" });
  if ((await link.count()) !== 1) fail("netid_signin: no link 通过国家网络身份认证登录");
  m.reset();
  await Promise.all([page.waitForURL((u) => u.href.includes("/netid-simulator")), link.click()]);
  await page.waitForSelector("#netid-confirm");
  if (await page.locator("[role=alert]:visible, .error:visible").count()) fail("netid_simulator: an alert before the person acted");
  if (!(await page.locator("#netid-share").count())) fail("netid_simulator: not asked to release the name and number");
  await audit(page, m, "netid_simulator", "zh");
  await page.fill("input[name=name]", "艾达");
  await page.fill("input[name=id_number]", "220102199003070013");
  await page.check("#netid-share");
  await shot(page, "netid-simulator.png");

  const toClient = page.waitForRequest((r) => r.url().startsWith(redirectUri), { timeout: 15000 });
  await page.click("#netid-confirm");
  if (await page.waitForSelector("button[value=allow]", { timeout: 3000 }).catch(() => null)) {
    await page.click("button[value=allow]");
  }
  const done = await toClient;
  if (!/[?&]code=/.test(done.url())) fail(`the client got no code: ${done.url()}`);
  step("signed_in", { to: done.url().split("?")[0] });
  if (errors.length) fail(`page errors: ${errors.join("; ")}`);
  step("done");
} catch (e) {
  step("failed", { error: String(e) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
