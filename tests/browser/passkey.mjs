// A real browser against the provider: Debian's Chromium, headless, with a virtual WebAuthn
// authenticator (Chrome DevTools Protocol, WebAuthn domain: a platform authenticator with
// resident keys and user verification), driven by playwright-core. It runs the pages' own
// script (webauthn.js), so this checks the JavaScript half of passkeys that the Rust tests'
// software authenticators cannot.
//
// usage: node passkey.mjs <base URL> <username> <password> <authorization URL> <redirect URI>
// Prints one JSON line per step; exits non-zero on the first failure.
import { chromium } from "playwright-core";

const [base, username, password, authorizeUrl, redirectUri] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const step = (name, detail = {}) => console.log(JSON.stringify({ step: name, ...detail }));

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
  const context = await browser.newContext({ locale: "en-US" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // failed loads are reported by URL below (the favicon a browser asks for by itself aside)
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) errors.push(m.text());
  });
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) errors.push(`${r.status()} ${r.url()}`);
  });

  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });

  // 1. Sign in with the password on the account page.
  await page.goto(`${base}/t/main/account/security`);
  const autofill = await page.getAttribute("#login", "autocomplete");
  if (autofill !== "username webauthn") throw new Error(`username field autocomplete: ${autofill}`);
  await page.fill("#login", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/account\/security$/), page.click("form[action$='/login'] button")]);
  step("password_sign_in");

  // 2. Register a passkey: the script fetches the options, Chromium asks the virtual
  //    authenticator, the form posts the result; the first factor brings recovery codes.
  await page.fill("#key-name", "laptop");
  await page.selectOption("#key-kind", "passkey");
  await Promise.all([page.waitForURL(/\/account\/keys\/finish$/), page.click("form[data-webauthn=create] button")]);
  const codes = await page.locator("li code").count();
  if (codes !== 10) throw new Error(`expected 10 recovery codes, saw ${codes}: ${await page.content()}`);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  if (credentials.length !== 1 || !credentials[0].isResidentCredential) {
    throw new Error(`expected one resident credential: ${JSON.stringify(credentials)}`);
  }
  step("registered", { resident: credentials[0].isResidentCredential, signCount: credentials[0].signCount });

  // 3. Signed out (cookies gone), a department application's authorization request: the
  //    sign-in page offers the passkey in the username's autofill (conditional mediation),
  //    which the virtual authenticator accepts at once, so the person signs in without typing
  //    anything; then consent, and the browser is sent back to the client with a code (caught
  //    here: the redirect URI has no server). The test exchanges the code.
  await context.clearCookies();
  const conditional = await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable());
  if (!conditional) throw new Error("conditional mediation not available");
  // (a followed redirect is not routable in Playwright: the request is watched instead; the
  //  load itself then fails, nothing listens there)
  let callback = null;
  page.on("request", (r) => { if (r.url().startsWith(redirectUri)) callback = r.url(); });
  await page.goto(authorizeUrl);
  await page.waitForSelector("button[name=decision][value=allow]");
  await page.click("button[name=decision][value=allow]");
  for (let i = 0; i < 100 && !callback; i++) await new Promise((r) => setTimeout(r, 50));
  if (!callback || !callback.includes("code=")) throw new Error(`no code came back: ${callback}`);
  const after = (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials[0];
  step("autofill_sign_in", { callback, signCount: after.signCount });

  // 4. Another browser holding the same key, not discoverable there: the password, then the
  //    key as the second step with the button on the second-factor page.
  const other = await browser.newContext({ locale: "en-US" });
  const page2 = await other.newPage();
  page2.on("pageerror", (e) => errors.push(String(e)));
  // the browser's own refusal of a ceremony, by name (the page only says it failed)
  const refusals = [];
  page2.on("console", (m) => { if (m.type() === "error" && m.text().startsWith("create:")) refusals.push(m.text()); });
  await other.addInitScript(() => {
    const create = navigator.credentials.create.bind(navigator.credentials);
    navigator.credentials.create = (o) => create(o).catch((e) => { console.error(`create: ${e.name}: ${e.message}`); throw e; });
  });
  const cdp2 = await other.newCDPSession(page2);
  await cdp2.send("WebAuthn.enable");
  const second = await cdp2.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "usb", hasResidentKey: false,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  await cdp2.send("WebAuthn.addCredential", {
    authenticatorId: second.authenticatorId,
    credential: { ...after, isResidentCredential: false, userHandle: undefined },
  });
  await page2.goto(`${base}/t/main/account/security`);
  await page2.fill("#login", username);
  await page2.fill("#password", password);
  await Promise.all([page2.waitForURL(/\/interaction\//), page2.click("form[action$='/login'] button")]);
  await page2.waitForSelector("form[data-webauthn=get] input[value=second]", { state: "attached" });
  await Promise.all([page2.waitForURL(/\/account\/security$/), page2.click("form[data-webauthn=get] button")]);
  if (await page2.getAttribute("#keys", "data-count") !== "1") {
    throw new Error(`account page after the second factor: ${await page2.content()}`);
  }
  step("second_factor");

  // 5. Register a real security key in this (two-factor) session: a USB CTAP 2.1 key, not
  //    discoverable, without user verification, supporting credProtect (Chromium's virtual key
  //    offers credProtect together with credBlob). Chromium refuses inconsistent credProtect
  //    options before it asks the key, so this is where such options would fail.
  await cdp2.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: second.authenticatorId });
  const { authenticatorId: keyId } = await cdp2.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", ctap2Version: "ctap2_1", transport: "usb", hasResidentKey: false,
      hasUserVerification: false, hasCredBlob: true, automaticPresenceSimulation: true,
    },
  });
  await page2.fill("#key-name", "usb key");
  await page2.selectOption("#key-kind", "security_key");
  await page2.click("form[data-webauthn=create] button");
  await page2.waitForSelector("#keys[data-count='2']", { timeout: 15000 }).catch((e) => {
    throw new Error(`security key not registered: ${refusals.join("; ") || e}`);
  });
  const [sk] = (await cdp2.send("WebAuthn.getCredentials", { authenticatorId: keyId })).credentials;
  if (!sk || sk.isResidentCredential) throw new Error(`expected one non-resident credential: ${JSON.stringify(sk)}`);
  step("security_key_registered");

  // 6. Signed out: the password, then that security key as the second step.
  await other.clearCookies();
  await page2.goto(`${base}/t/main/account/security`);
  await page2.fill("#login", username);
  await page2.fill("#password", password);
  await Promise.all([page2.waitForURL(/\/interaction\//), page2.click("form[action$='/login'] button")]);
  await page2.waitForSelector("form[data-webauthn=get] input[value=second]", { state: "attached" });
  await Promise.all([page2.waitForURL(/\/account\/security$/), page2.click("form[data-webauthn=get] button")]);
  const used = (await cdp2.send("WebAuthn.getCredentials", { authenticatorId: keyId })).credentials[0];
  if (!(used.signCount > sk.signCount)) throw new Error(`security key not used: ${JSON.stringify(used)}`);
  step("security_key_second_factor");

  if (errors.length) throw new Error(`script errors: ${errors.join("; ")}`);
  step("done");
} catch (e) {
  console.log(JSON.stringify({ error: String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
