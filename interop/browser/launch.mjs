// launch.mjs starts the headless Chromium that the browser specs drive:
// Debian's /usr/bin/chromium (or CHROMIUM_PATH, which the Go tests set)
// through playwright-core, with no sandbox and no GPU (CI runs as root on
// a machine without one), and without the background services (QUIC,
// first-run, component updates, sync) that would reach for the network.
import { chromium } from "playwright-core";

export const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
