// deno-lint-ignore-file no-explicit-any
/// <reference lib="dom" />
/**
 * The dashboard in a real browser (Debian's Chromium, headless, through puppeteer-core) against
 * the real service on a real port and SQLite file: its form starts a small search, the page
 * follows it live to the end, and then shows what the API has (the best loss as mathematics, its
 * tree, the comparison and its curves, the candidates, sortable, and the full report), with no
 * script error and no request anywhere but the service. With API keys the page asks for one and
 * shows that key's searches. And /docs, Swagger UI's reference, renders offline.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { launchBrowser, watchedPage } from "./support/browser.ts";
import { startSearchFromForm, watchToTheEnd } from "./support/dashboard.ts";
import { postJson, startTestService, type TestService, tinySearch } from "./support/service.ts";
import type { Browser } from "puppeteer-core";

const BROWSER_TEST = { sanitizeOps: false, sanitizeResources: false };

/** A test with a fresh service and browser, both closed however it ends. */
function browserTest(
  name: string,
  fn: (t: TestService, browser: Browser) => Promise<void>,
): void {
  Deno.test({
    name,
    ...BROWSER_TEST,
    fn: async () => {
      const t = await startTestService();
      const b = await launchBrowser();
      try {
        await fn(t, b.browser);
      } finally {
        await b.close();
        await t.close();
      }
    },
  });
}

const texts = (page: any, selector: string): Promise<string[]> =>
  page.$$eval(selector, (els: Element[]) => els.map((e) => e.textContent ?? ""));

browserTest(
  "the dashboard starts a search, follows it live to the end, and shows what it found",
  async (t, browser) => {
    const { page, errors, elsewhere } = await watchedPage(browser, t.base);
    const id = await startSearchFromForm(page, t.base);
    const seen = await watchToTheEnd(page);
    // Followed live: the page showed the search under way before it showed it done.
    assert(seen.some((l) => l.includes("phase search")), seen.join("\n"));
    assert(seen[seen.length - 1].includes("phase done"), seen.join("\n"));
    assert(
      seen.some((l) => l.includes("phase final") || l.includes("final runs")),
      seen.join("\n"),
    );

    const search = (await t.json(`/v1/searches/${id}`)).body;
    assertEquals(search.state, "succeeded");
    assertEquals(search.config.budget.population, 4);
    const losses = (await t.json(`/v1/searches/${id}/losses`)).body;
    const best = losses.losses[0];

    // The best loss as KaTeX mathematics, from the API's LaTeX.
    const tex = await page.$eval(
      "#best-simplified annotation",
      (el: Element) => el.textContent,
    );
    assertEquals(tex, `\\mathcal{L} = ${best.simplified.latex}`);
    assert(await page.$("#best-structure .katex-html"));
    // Its expression tree, and the charts (uPlot draws on canvases).
    assert((await texts(page, "#tree svg text")).length >= 3);
    for (const chart of ["#convergence", "#filters", "#curves"]) {
      assert(await page.$(`${chart} canvas`), `${chart} has a chart`);
    }
    assert((await texts(page, "#filters .u-legend")).join(" ").includes("Rejected"));

    // The comparison as the result has it: the paper's row, the tuned row, and the verdict.
    const rows = await texts(page, "#comparison-table tr");
    assertEquals(rows.length, 1 + (losses.final.tuned ? 2 : 1));
    assert(rows[1].startsWith("Same learning rate"), rows[1]);
    if (losses.final.tuned) assert(rows[2].startsWith("Each at its best"), rows[2]);
    const cells = await page.$$eval(
      "#comparison-table tr:nth-child(2) td",
      (els: Element[]) => els.map((e) => e.textContent ?? ""),
    );
    assertEquals(cells.length, 7);
    assertEquals(cells[6], losses.final.outcome.replaceAll("-", " "));
    assertEquals(
      await page.$eval("#verdict", (el: Element) => el.textContent),
      losses.final.verdict.words,
    );
    const difference = await page.$eval("#difference", (el: Element) => el.textContent);
    assert(
      difference.includes(String(Number(losses.final.difference.toPrecision(3)))),
      difference,
    );

    // Every candidate, sortable by fitness both ways (missing fitness last).
    const candidates = (await t.json(`/v1/searches/${id}/candidates`)).body.items;
    const fitnessColumn = () =>
      page.$$eval(
        "#candidate-table tbody tr td:nth-child(4)",
        (els: Element[]) => els.map((e) => e.textContent),
      );
    assertEquals((await fitnessColumn()).length, candidates.length);
    await page.click('#candidate-table th[data-key="fitness"]');
    const up = (await fitnessColumn()).filter((v: string) => v !== "–").map(Number);
    assertEquals(up, [...up].sort((a, b) => a - b));
    assert(up.length >= 1);
    await page.click('#candidate-table th[data-key="fitness"]');
    const down = (await fitnessColumn()).filter((v: string) => v !== "–").map(Number);
    assertEquals(down, [...up].reverse());
    const outcomes = new Set(await texts(page, "#candidate-table tbody td:nth-child(3)"));
    assertEquals(outcomes, new Set(candidates.map((c: any) => c.outcome)));

    // The full report, served over HTTP.
    const report = await page.$eval("#report-frame", (el: any) => el.srcdoc);
    assert(report.includes("Final comparison") && report.includes(best.simplified.infix));

    assertEquals(errors, []);
    assertEquals(elsewhere, []);
  },
);

browserTest(
  "with API keys the dashboard asks for one and shows that key's searches",
  async (t, browser) => {
    const alice = (await t.service.storage.keys.create("alice")).token;
    const body = tinySearch("iris", {
      budget: { population: 4, generations: 1 },
      name: "iris warm-up",
      labels: { team: "vision" },
    });
    const job = await t.json("/v1/searches", { ...postJson(body), key: alice });
    assertEquals(job.status, 202);
    const { page, elsewhere } = await watchedPage(browser, t.base);
    await page.goto(`${t.base}/`);
    await page.waitForSelector("#key-form:not([hidden])");
    await page.waitForSelector("#view-error");
    assert((await texts(page, "#view-error"))[0].includes("Unauthorized"));
    await page.type("#key", alice);
    await page.click("#key-form button");
    await page.waitForSelector(`#searches tr[data-id="${job.body.id}"]`);
    assert(await page.$eval("#key-form", (el: any) => el.hidden));
    // Its name and labels are on its row.
    const row = await texts(page, `#searches tr[data-id="${job.body.id}"] td`);
    assert(row[0].startsWith("iris warm-up") && row[0].includes(job.body.id), row.join(" | "));
    assertEquals(row[1], "team=vision");
    // A wrong key sees nothing of Alice's: asked again.
    await page.evaluate(() => localStorage.setItem("lossmith.key", "lsm_wrong"));
    await page.goto(`${t.base}/#/search/${job.body.id}`);
    await page.waitForSelector("#key-form:not([hidden])");
    assertEquals(elsewhere, []);
    await t.request(`/v1/searches/${job.body.id}:cancel`, { method: "POST", key: alice });
  },
);

browserTest(
  "/docs is Swagger UI's interactive reference, served whole by the service",
  async (t, browser) => {
    const { page, errors, elsewhere } = await watchedPage(browser, t.base);
    await page.goto(`${t.base}/docs`);
    await page.waitForFunction(
      () => document.body.innerText.includes("Start a search for a loss function"),
      { timeout: 60_000 },
    );
    // Interactive: an operation opens and offers to be tried.
    await page.click(".opblock-summary");
    await page.waitForSelector(".try-out__btn", { timeout: 30_000 });
    assert(await page.$("#problem-validation"), "problem types keep their anchors");
    // Only the files the tables name are served.
    for (const path of ["/assets/nope.js", "/assets/fonts/KaTeX_Nope.woff2", "/assets/deno.json"]) {
      const res = await t.request(path);
      assertEquals(res.status, 404, path);
      await res.body?.cancel();
    }
    assertEquals(errors, []);
    assertEquals(elsewhere, []);
  },
);
