// The npm packages the client scripts use (ethers, viem), from the tools folder `make install`
// fills: BOOSTER_NODE_MODULES (the tests pass it), else the checkout's .tools/node_modules.
// ES modules resolve bare names from the importing file's folder and ignore NODE_PATH, so the
// packages are loaded through a require() rooted in that folder instead.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
export const nodeModules = process.env.BOOSTER_NODE_MODULES || path.join(here, "..", "..", ".tools", "node_modules");
export const load = createRequire(path.join(nodeModules, "booster-clients.js"));

/** One JSON line on stdout (bigints as decimal strings): what the test reads. */
export function report(value) {
  process.stdout.write(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

/** --name value options into an object (repeated names: the last wins). */
export function options(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new Error(`expected --name value pairs, got ${JSON.stringify(argv)}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  return out;
}

/** Resolves when check() is true (polled), rejects after ms with what (a string or a function giving one). */
export async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "function" ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs main(); any failure is one JSON line {"error": ...} and exit code 1. */
export function run(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      // an Error's stack; the message of an event a library rejected with (a WebSocket's ErrorEvent)
      const text = error instanceof Error ? error.stack : `${error?.type || ""} ${error?.message || inspect(error, { depth: 0 })}`;
      report({ error: text });
      process.exit(1);
    },
  );
}
