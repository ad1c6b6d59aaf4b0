/**
 * docs/settings.md, made from the settings table: every setting's path in a request, its CLI flag,
 * values, default and meaning, then the profiles and the bundled datasets' presets. Run
 * `deno task settings-doc` after changing core/settings.ts; a test fails while the page is stale.
 */
import {
  PROFILE_NAMES,
  PROFILES,
  type Setting,
  SETTING_LIST,
  type SettingsPatch,
} from "../core/settings.ts";
import { BUNDLED_NAMES, presetFor } from "../core/data/mod.ts";

export const SETTINGS_DOC = new URL("../docs/settings.md", import.meta.url);

function values(s: Setting<unknown>): string {
  const t = s.value;
  switch (t.type) {
    case "integer":
      return `integer ${t.min} to ${t.max}`;
    case "number":
      return t.exclusive ? `number in (${t.min}, ${t.max})` : `number ${t.min} to ${t.max}`;
    case "boolean":
      return "true or false";
    case "enum":
      return t.values.map((v) => `\`${v}\``).join(", ");
    case "integers":
      return `up to ${t.maxItems} integers ${t.min} to ${t.max}`;
    case "numbers":
      return `${t.minItems} to ${t.maxItems} numbers in (${t.min}, ${t.max}]`;
    case "stack":
      return `\`auto\`, \`off\` or 2 to ${t.max}`;
    case "names":
      return `${t.minItems} or more of ${t.values.map((v) => `\`${v}\``).join(", ")}`;
    case "layers":
      return "a list of layers (docs/method.md)";
  }
}

const show = (v: unknown) =>
  v === undefined ? "none" : `\`${Array.isArray(v) ? JSON.stringify(v) : String(v)}\``;

/** The leaves of a patch as `path = value` lines. */
function patchLines(patch: SettingsPatch): string[] {
  return SETTING_LIST.flatMap(({ path }) => {
    let at: unknown = patch;
    for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
    return at === undefined ? [] : [`\`${path.join(".")}\` = ${show(at)}`];
  });
}

export function settingsMarkdown(): string {
  const rows = SETTING_LIST.map(({ path, setting }) => {
    const flag = setting.value.type === "boolean"
      ? `\`--${setting.flag}\`, \`--no-${setting.flag}\``
      : `\`--${setting.flag}\``;
    // A stored search that predates a setting reads back with its legacy value (upgradeSettings).
    const legacy = setting.legacy === undefined
      ? ""
      : ` Searches stored before this setting: ${show(setting.legacy)}.`;
    return `| \`${path.join(".")}\` | ${flag} | ${values(setting)} | ${show(setting.default)} | ${
      setting.description.replaceAll("|", "\\|")
    }${legacy} |`;
  });
  return [
    "# Settings",
    "",
    "Generated from `core/settings.ts` by `deno task settings-doc`; do not edit by hand.",
    "",
    "Every setting of a search, with its path in an API request (`POST /v1/searches`, as nested",
    'JSON: `evaluation.inner.lr` is `{"evaluation": {"inner": {"lr": ...}}}`) and its flag of',
    "`deno task search`. Both entry points check values against the same bounds and resolve them",
    "the same way: the defaults below, then the dataset's preset, then the profile, then the",
    "request.",
    "",
    "| setting | flag | values | default | meaning |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "## Profiles",
    "",
    "A request names one with `profile` (flag `--profile`); without one it gets `quick`.",
    "",
    ...PROFILE_NAMES.flatMap((p) => [
      `- \`${p}\`: ${PROFILES[p].description}. ${patchLines(PROFILES[p].settings).join(", ")}.`,
    ]),
    "",
    "## Presets of the bundled datasets",
    "",
    "The settings the published experiments used for a bundled dataset, where they differ from the",
    "defaults. A request can still override each one.",
    "",
    ...BUNDLED_NAMES.map((name) => {
      const lines = patchLines(presetFor(name));
      return `- \`${name}\`: ${lines.length ? lines.join(", ") : "none"}.`;
    }),
    "",
  ].join("\n");
}

if (import.meta.main) {
  await Deno.writeTextFile(SETTINGS_DOC, settingsMarkdown());
  console.log(`wrote ${SETTINGS_DOC.pathname}`);
}
