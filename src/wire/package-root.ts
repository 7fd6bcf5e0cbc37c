/**
 * Finds raftq's package root from this module's own location, so files
 * shipped beside the code (the .proto contracts) are found both from src/
 * under tsx and from dist/src/ after `tsc`, whatever the working directory.
 */

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The nearest ancestor of `fromUrl` that holds `marker` (a path relative to the package root). */
export function findPackageRoot(fromUrl: string, marker: string): string {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, marker))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find ${marker} in any ancestor of ${fileURLToPath(fromUrl)}`);
    }
    dir = parent;
  }
}
