/**
 * The condition for `describe.skipIf` / `it.skipIf` that says why: when `run` is false it prints
 * "skipped: <what> (<reason>)" and returns true (skip). Every skip in the suite goes through it.
 */
export function skipUnless(run: boolean, what: string, reason: string): boolean {
  if (!run) console.warn(`skipped: ${what} (${reason})`);
  return !run;
}
