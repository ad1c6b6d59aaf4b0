/**
 * The Python client (clients/python) against the real service on a real port, with Debian's
 * Python and its `requests`: clients/python/tests/live_check.py runs a search through it and
 * checks the typed records, the problem documents raised as exceptions, and the event stream
 * resumed after drops with Last-Event-ID. `.ci/run` installs python3-requests.
 */
import { fileURLToPath } from "node:url";
import { assert } from "./support/assert.ts";
import { startTestService } from "./support/service.ts";

const CLIENT = fileURLToPath(new URL("../clients/python/", import.meta.url));

Deno.test({
  name: "the Python client runs a whole search against the service",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t = await startTestService();
    try {
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["tests/live_check.py", t.base],
        cwd: CLIENT,
        env: { PYTHONPATH: CLIENT, PYTHONDONTWRITEBYTECODE: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert(out.success && text.includes("all checks passed"), text);
    } finally {
      await t.close();
    }
  },
});
