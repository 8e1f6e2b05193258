// Signing in through a service reached with its app, by its simulator, in a real browser
// (Debian's Chromium, headless, driven by playwright-core): the national network identity
// (`netid`: the sign-in page's "通过国家网络身份认证登录" link, the simulator asking to release
// the name and ID number) or the electronic business licence (`licence`: "通过电子营业执照登录",
// an agent with itemised matters), and back to the client. The simulator's page is audited as
// pages.mjs audits pages (axe WCAG 2.1 AA, weight, language, one <h1>, no alert before the
// person acts) and pictured: netid-simulator.png, licence-simulator.png.
//
// usage: node connectors.mjs <netid|licence> <base URL> <authorization URL> <redirect URI> <screenshot dir>
// Prints one JSON line per step; exits non-zero on the first failure.
import { mkdirSync } from "node:fs";
import { DESKTOP, launch, meter, run, step, watch } from "./audit.mjs";

const SERVICES = {
  netid: {
    link: "通过国家网络身份认证登录",
    path: "/netid-simulator",
    confirm: "#netid-confirm",
    asked: "#netid-share",
    fill: async (page) => {
      await page.fill("input[name=name]", "艾达");
      await page.fill("input[name=id_number]", "220102199003070013");
      await page.check("#netid-share");
    },
  },
  licence: {
    link: "通过电子营业执照登录",
    path: "/licence-simulator",
    confirm: "#licence-confirm",
    asked: "#licence-share",
    fill: async (page) => {
      await page.fill("input[name=uscc]", "91220101MA0Y3K5Q3C");
      await page.fill("input[name=enterprise]", "示例科技有限公司");
      await page.fill("input[name=name]", "李四");
      await page.fill("input[name=id_number]", "220102199003070013");
      await page.selectOption("select[name=role]", "agent");
      await page.fill("input[name=matters]", "税务申报，社保缴费");
      await page.fill("input[name=days]", "30");
    },
  },
};

const [which, base, authorizeUrl, redirectUri, shots] = process.argv.slice(2);
const service = SERVICES[which];
if (!service || !shots) {
  console.error("usage: node connectors.mjs <netid|licence> <base URL> <authorization URL> <redirect URI> <screenshot dir>");
  process.exit(2);
}
const name = `${which}_simulator`;
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
  const link = page.getByRole("link", { name: service.link });
  if ((await link.count()) !== 1) fail(`${which}_signin: no link ${service.link}`);
  m.reset();
  await Promise.all([page.waitForURL((u) => u.href.includes(service.path)), link.click()]);
  await page.waitForSelector(service.confirm);
  if (await page.locator("[role=alert]:visible, .error:visible").count()) fail(`${name}: an alert before the person acted`);
  if (!(await page.locator(service.asked).count())) fail(`${name}: the person is not told what is released`);
  await audit(page, m, name, "zh");
  await service.fill(page);
  await shot(page, `${which}-simulator.png`);

  const toClient = page.waitForRequest((r) => r.url().startsWith(redirectUri), { timeout: 15000 });
  await page.click(service.confirm);
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
