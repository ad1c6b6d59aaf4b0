import { startTestService } from "./tests/support/service.ts";
import { launchBrowser, watchedPage } from "./tests/support/browser.ts";
const t = await startTestService();
const b = await launchBrowser();
const { page, errors, elsewhere } = await watchedPage(b.browser, t.base);
await page.goto(t.base + "/");
await page.waitForSelector("#new-search");
await page.$eval(
  "textarea[name=settings]",
  (el, v) => (el as HTMLTextAreaElement).value = v,
  JSON.stringify({
    model: { hidden: [8] },
    evaluation: { screen: { steps: 20 }, localSearch: { metaSteps: 5 }, fitnessSteps: 20 },
    final: { steps: 40, seeds: 2 },
  }),
);
await page.select("select[name=dataset]", "iris");
await page.$eval("input[name=population]", (el) => (el as HTMLInputElement).value = "4");
await page.$eval("input[name=generations]", (el) => (el as HTMLInputElement).value = "2");
await page.click("#start");
await page.waitForSelector("#search-header .state.succeeded", { timeout: 120000 });
await page.waitForSelector("#report-frame");
await new Promise((r) => setTimeout(r, 1000));
await page.screenshot({ path: "/tmp/oa/search.png", fullPage: true });
console.log("errors", errors, "elsewhere", elsewhere);
await page.goto(t.base + "/docs");
await new Promise((r) => setTimeout(r, 4000));
await page.screenshot({ path: "/tmp/oa/docs.png" });
console.log("errors", errors, "elsewhere", elsewhere);
await b.close();
await t.close();
