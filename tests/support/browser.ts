/**
 * Debian's Chromium, headless, driven by puppeteer-core: a fresh profile each time, and every
 * background service that would reach out to the network switched off (the machines that run
 * the tests have none). `.ci/run` installs the `chromium` package.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";

export async function launchBrowser(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = await Deno.makeTempDir({ prefix: "lossmith-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/** A page that records what should never happen: script errors, failed requests, and requests
 * anywhere but the service (every asset is served by it). */
export async function watchedPage(
  browser: Browser,
  base: string,
): Promise<{ page: Page; errors: string[]; elsewhere: string[] }> {
  const page = await browser.newPage();
  // Generous: the suite runs test files in parallel on two cores, and Chromium shares them.
  page.setDefaultTimeout(90_000);
  await page.setViewport({ width: 1280, height: 900 });
  const errors: string[] = [];
  const elsewhere: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    // A failed load is recorded with its URL below.
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
      errors.push(m.text());
    }
  });
  page.on("response", (r) => {
    // 401 is how the API asks for a key, which the page then does.
    if (r.status() >= 400 && r.status() !== 401) errors.push(`${r.status()} ${r.url()}`);
  });
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !/^(data|blob|about):/.test(url)) elsewhere.push(url);
  });
  return { page, errors, elsewhere };
}
