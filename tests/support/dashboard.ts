/// <reference lib="dom" />
/**
 * Driving the dashboard as a person would: its form starts a search, and its page follows it to
 * the end. Shared by tests/dashboard.test.ts and the screenshots of docs/dashboard/.
 */
import type { Page } from "puppeteer-core";

/** The smallest real search, as the form's fields and its JSON of other settings. */
export const SMALL_SEARCH = {
  dataset: "iris",
  population: 4,
  generations: 3,
  settings: {
    model: { hidden: [8] },
    evaluation: { screen: { steps: 20 }, localSearch: { metaSteps: 5 }, fitnessSteps: 20 },
    final: { steps: 60, seeds: 2 },
  },
};

/** Fills the new-search form and starts it; resolves with the search's id once its page shows. */
export async function startSearchFromForm(page: Page, base: string): Promise<string> {
  await page.goto(`${base}/`);
  await page.waitForSelector("#new-search");
  await page.select("select[name=dataset]", SMALL_SEARCH.dataset);
  const set = (selector: string, value: string) =>
    page.$eval(selector, (el, v) => (el as HTMLInputElement).value = v, value);
  await set("input[name=population]", String(SMALL_SEARCH.population));
  await set("input[name=generations]", String(SMALL_SEARCH.generations));
  await set("textarea[name=settings]", JSON.stringify(SMALL_SEARCH.settings));
  await page.click("#start");
  await page.waitForFunction(() => location.hash.startsWith("#/search/"));
  await page.waitForSelector("#search-header .state");
  return await page.evaluate(() => location.hash.slice("#/search/".length));
}

/** Waits for the page to show the search finished, recording each progress line shown on the
 * way (read every 100 ms), and for the report that comes last. */
export async function watchToTheEnd(page: Page, timeoutMs = 180_000): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = await page.$eval("#progress", (el) => el.textContent ?? "");
    if (line && seen[seen.length - 1] !== line) seen.push(line);
    if (await page.$("#search-header .state.succeeded") && await page.$("#report-frame")) {
      return seen;
    }
    if (await page.$("#search-header .state.failed")) {
      throw new Error(await page.$eval("#search-error", (el) => el.textContent ?? ""));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the page did not show the search finished; progress seen: ${seen.join(" | ")}`);
}
