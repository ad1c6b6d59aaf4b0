/**
 * Dataset files given to the CLI as http(s) URLs: each is downloaded once under the service's
 * rules (service/url_fetch.ts: time and size limits, and no loopback, private or link-local host
 * unless allowed) into a temporary folder, and the search reads the local copy — workers load a
 * dataset by path themselves, so the reference must name files on this machine.
 */
import type { DatasetRef } from "../core/prepare.ts";
import { fetchLimited, type FetchLimits } from "../service/url_fetch.ts";

export const CLI_FETCH_LIMITS: FetchLimits = {
  timeoutMs: 60_000,
  maxBytes: 512 * 1024 * 1024,
  allowPrivate: false,
};

const isUrl = (text: string) => /^https?:\/\//i.test(text);

/** The reference with every URL replaced by a downloaded copy; unchanged when it has none. */
export async function localizeRef(ref: DatasetRef, limits: FetchLimits): Promise<DatasetRef> {
  const fields = ["path", "images", "labels", "features"] as const;
  const urls = fields.filter((f) =>
    f in ref && isUrl((ref as Record<string, unknown>)[f] as string)
  );
  if (urls.length === 0) return ref;
  const dir = await Deno.makeTempDir({ prefix: "lossmith-data-" });
  const local: Record<string, unknown> = { ...ref };
  for (const field of urls) {
    const url = (ref as Record<string, string>)[field];
    const bytes = await fetchLimited(url, limits);
    // Keep the URL's file name: the format is told by its extension.
    const name = new URL(url).pathname.split("/").pop() || field;
    const path = `${dir}/${field}-${name}`;
    await Deno.writeFile(path, bytes);
    local[field] = path;
  }
  return local as DatasetRef;
}
