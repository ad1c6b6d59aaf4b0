/**
 * `deno task screenshots`: the dashboard's main views as PNG files in docs/dashboard/, taken in
 * headless Chromium from a real service (a temporary database) running the small search that the
 * browser test runs: the list of searches, a finished search (charts, best loss, comparison),
 * its candidates, its report, and /docs.
 */
/// <reference lib="dom" />
import { launchBrowser, watchedPage } from "../tests/support/browser.ts";
import { startSearchFromForm, watchToTheEnd } from "../tests/support/dashboard.ts";
import { startTestService } from "../tests/support/service.ts";

const OUT = new URL("../docs/dashboard/", import.meta.url);

const t = await startTestService();
const b = await launchBrowser();
try {
  await Deno.mkdir(OUT, { recursive: true });
  const shot = (name: string) => new URL(name, OUT).pathname as `${string}.png`;
  const { page, errors } = await watchedPage(b.browser, t.base);
  const id = await startSearchFromForm(page, t.base);
  await watchToTheEnd(page);
  await page.screenshot({ path: shot("search.png"), fullPage: false });
  const at = async (selector: string, name: string) => {
    const el = await page.$(selector);
    await el!.scrollIntoView();
    await el!.screenshot({ path: shot(name) });
  };
  await at("#best", "best-loss.png");
  await at("#comparison", "comparison.png");
  await page.click('#candidate-table th[data-key="fitness"]');
  await at("#candidates", "candidates.png");
  await at("#report-frame", "report.png");
  await page.goto(`${t.base}/#/`);
  await page.waitForSelector(`#searches tr[data-id="${id}"]`);
  await page.screenshot({ path: shot("searches.png") });
  await page.goto(`${t.base}/docs`);
  await page.waitForFunction(() => document.body.innerText.includes("Start a search"));
  await page.screenshot({ path: shot("docs.png") });
  if (errors.length) throw new Error(`the pages reported errors: ${errors.join("; ")}`);
  console.log(`screenshots of search ${id} in ${OUT.pathname}`);
} finally {
  await b.close();
  await t.close();
}
