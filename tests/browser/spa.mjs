// The SPA example (client-examples/spa) in a real browser: Debian's Chromium, headless, driven by
// playwright-core. The page redirects to the idp, the person signs in and allows it, the page
// redeems the code with PKCE, verifies the ID token with WebCrypto and shows the name from
// UserInfo; then it signs out through the idp and is back, signed out.
//
// usage: node spa.mjs <SPA URL> <username> <password>
// Prints one JSON line per step; exits non-zero on the first failure.
import { chromium } from "playwright-core";

const [spaUrl, username, password] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const step = (name, detail = {}) => console.log(JSON.stringify({ step: name, ...detail }));

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});
try {
  const page = await (await browser.newContext({ locale: "en" })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(spaUrl);
  await page.waitForSelector("#status[data-state=signed-out]");
  step("signed-out");
  await Promise.all([page.waitForNavigation(), page.click("#sign-in")]);
  await page.fill("input[name=login]", username);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  if (await page.$("button[value=allow]")) {
    await Promise.all([page.waitForNavigation(), page.click("button[value=allow]")]);
  }
  await page.waitForSelector("#status[data-state=signed-in], #status[data-state=error]");
  const status = await page.textContent("#status");
  if (status !== "Signed in") throw new Error(`after the sign-in: ${status}`);
  const name = await page.textContent("#name");
  const claims = JSON.parse(await page.textContent("#claims"));
  step("signed-in", { name, sub: claims.sub, acr: claims.acr });
  await Promise.all([page.waitForNavigation({ url: (u) => u.href.startsWith(spaUrl) }), page.click("#sign-out")]);
  await page.waitForSelector("#status[data-state=signed-out]");
  step("signed-out-again");
  if (errors.length) throw new Error(errors.join("; "));
  step("done");
} catch (e) {
  step("failed", { error: String(e) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
