// Hashes the bundle's sources (the roots listed in bundle-inputs.txt) the same way
// build.rs does: files in byte order of their '/'-separated path, each fed to SHA-256
// as "<path>\n<length>\n<bytes>". Change one side only together with the other.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

export function readInputRoots(repoRoot) {
  const listing = readFileSync(join(repoRoot, "web/bundle-inputs.txt"), "utf8");
  return listing
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function collect(repoRoot, rel, out) {
  const abs = join(repoRoot, rel);
  if (!existsSync(abs)) return;
  if (statSync(abs).isDirectory()) {
    for (const entry of readdirSync(abs)) collect(repoRoot, `${rel}/${entry}`, out);
  } else {
    out.push(rel);
  }
}

export function sourcesHash(repoRoot) {
  const files = [];
  for (const root of readInputRoots(repoRoot)) collect(repoRoot, root, files);
  files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const hash = createHash("sha256");
  for (const rel of files) {
    const bytes = readFileSync(join(repoRoot, rel));
    hash.update(`${rel}\n${bytes.length}\n`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}
