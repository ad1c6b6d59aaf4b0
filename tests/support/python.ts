/** The system Python the export and data tests run, and whether it has a module. */
export const PYTHON = "/usr/bin/python3";

/** True when PYTHON exists and can import `module` (torch, numpy). */
export async function pythonHas(module: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", `import ${module}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // no python3 at all
  }
}
