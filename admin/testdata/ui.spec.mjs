// ui.spec.mjs drives the real Admin UI (the build shipped in
// @socket.io/admin-ui 0.5.1, ui/dist) in headless Chromium against a
// sioloop server instrumented by package admin. Run by ui_browser_test.go:
//
//	node admin/testdata/ui.spec.mjs UI_URL SERVER_URL '{"sockets":[...],"room":"lobby","kick":"id"}'
//
// It logs in through the UI's connection form (a wrong password first),
// checks that the Sockets page lists the sockets and the Rooms page the
// room, then clicks the disconnect button of one socket and waits until
// the UI shows it gone. Every expectation prints "ok" or "FAIL"; the exit
// code is 1 if any failed, 2 on a crash or the time limit.
import { chromium } from "playwright-core";

const [uiURL, serverURL, specJSON] = process.argv.slice(2);
if (!uiURL || !serverURL || !specJSON) {
  console.error("usage: node ui.spec.mjs UI_URL SERVER_URL SPEC_JSON");
  process.exit(2);
}
const spec = JSON.parse(specJSON);
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const WAIT_MS = 10000; // per expectation; a healthy run needs well under 1 s

const overall = setTimeout(() => {
  console.error("FAIL overall time limit (60s) exceeded");
  process.exit(2);
}, 60000);

let failed = 0;
async function expect(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split("\n")[0]}`);
  }
}

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  // The page links fonts and icons from CDNs; this machine has no
  // network, and the test does not need them.
  await page.route(/^https?:\/\/(fonts\.googleapis\.com|cdn\.jsdelivr\.net)\//, (r) => r.abort());
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await page.goto(uiURL + "/");

  const dialog = page.locator(".v-dialog");
  await expect("the connection form opens", async () => {
    await page.getByLabel("Server URL").waitFor({ timeout: WAIT_MS });
  });
  await page.getByLabel("Server URL").fill(serverURL);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Connect" }).click();
  await expect("a wrong password is refused with the UI's message", async () => {
    await dialog.getByText("Invalid credentials").waitFor({ timeout: WAIT_MS });
  });

  await page.getByLabel("Password").fill("changeit");
  await page.getByRole("button", { name: "Connect" }).click();
  await expect("the right password logs in", async () => {
    await dialog.waitFor({ state: "hidden", timeout: WAIT_MS });
  });
  await expect("the session id is stored", async () => {
    await page.waitForFunction(() => /^[0-9a-f]{16}$/.test(localStorage.getItem("session_id") || ""), null, {
      timeout: WAIT_MS,
    });
  });

  await page.goto(uiURL + "/#/sockets/");
  for (const id of spec.sockets) {
    await expect(`the Sockets page lists ${id}`, async () => {
      await page.locator("tbody tr", { hasText: id }).waitFor({ timeout: WAIT_MS });
    });
  }

  await page.goto(uiURL + "/#/rooms/");
  await expect(`the Rooms page lists ${spec.room}`, async () => {
    await page.locator("tbody tr", { hasText: spec.room }).waitFor({ timeout: WAIT_MS });
  });

  await page.goto(uiURL + "/#/sockets/");
  const row = page.locator("tbody tr", { hasText: spec.kick });
  await expect(`the disconnect button of ${spec.kick} removes it`, async () => {
    await row.locator("button").click({ timeout: WAIT_MS });
    // The click also opens the socket's page (the row's handler).
    await page.goto(uiURL + "/#/sockets/");
    await page.locator("tbody tr", { hasText: spec.sockets.find((id) => id !== spec.kick) }).first().waitFor({ timeout: WAIT_MS });
    // Until the route's transition ends, the socket's page is shown too.
    await page.waitForFunction(
      (id) => ![...document.querySelectorAll("tbody tr")].some((tr) => tr.textContent.includes(id)),
      spec.kick,
      { timeout: WAIT_MS },
    );
  });
  for (const id of spec.sockets.filter((id) => id !== spec.kick)) {
    await expect(`${id} is still listed`, async () => {
      await page.locator("tbody tr", { hasText: id }).first().waitFor({ timeout: WAIT_MS });
    });
  }
} catch (e) {
  console.log(`FAIL crash: ${e.stack}`);
  failed++;
} finally {
  await browser.close();
  clearTimeout(overall);
}
process.exit(failed ? 1 : 0);
