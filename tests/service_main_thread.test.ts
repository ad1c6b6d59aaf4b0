/**
 * The service's main thread (HTTP, jobs, store) never loads TensorFlow.js, let alone runs tensor
 * work: every tensor lives in the workers. Checked in a fresh process, since this test runner
 * has loaded tfjs for other tests.
 */
import { assertEquals } from "./support/assert.ts";

Deno.test("importing the service, its API and `start` loads no tensor code", async () => {
  const modules = ["../cli/start.ts", "../api/app.ts", "../service/mod.ts"]
    .map((m) => new URL(m, import.meta.url).href);
  const code = `${modules.map((m) => `await import(${JSON.stringify(m)});`).join("")}
console.log(JSON.stringify(Object.keys(globalThis).filter((k) => k.startsWith("_tf"))));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(out.success, true);
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), []);
});
