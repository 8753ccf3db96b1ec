// Builds the bundle nara embeds: the Preact SPA (esbuild, content-hashed names) at the
// root and the mdBook site under docs/, every text file precompressed as .br and .gz,
// and .nara/manifest.json naming the immutable files and the sources' hash.
//
// Usage: node web/build.mjs [--out DIR] [--book DIR]
//   --out   where the bundle goes (default web/dist); written beside it first and
//           swapped in only when complete, so a failed build leaves the old one intact.
//   --book  an already built mdBook site to stage instead of running `mdbook build`.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import { brotliCompressSync, gzipSync, constants as zlib } from "node:zlib";
import {
  cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sourcesHash } from "./sources-hash.mjs";

const webDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(webDir, "..");

function parseArgs(argv) {
  const opts = { out: join(webDir, "dist"), book: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag === "--out" || flag === "--book") && value !== undefined) {
      opts[flag.slice(2)] = resolve(value);
      i++;
    } else {
      fail(`unknown argument ${JSON.stringify(flag)}; usage: node web/build.mjs [--out DIR] [--book DIR]`);
    }
  }
  return opts;
}

function fail(message) {
  console.error(`web build: ${message}`);
  process.exit(1);
}

function step(message) {
  console.error(`web build: ${message}`);
}

async function buildSpa(stage) {
  const result = await esbuild.build({
    entryPoints: [join(webDir, "src/main.jsx")],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020"],
    jsx: "automatic",
    jsxImportSource: "preact",
    entryNames: "assets/[name]-[hash]",
    assetNames: "assets/[name]-[hash]",
    outdir: stage,
    metafile: true,
    legalComments: "none",
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(stage, resolve(p)));
  const script = outputs.find((p) => p.endsWith(".js"));
  const style = outputs.find((p) => p.endsWith(".css"));
  if (!script) fail("esbuild produced no JavaScript entry");
  const template = readFileSync(join(webDir, "index.html"), "utf8");
  const tags = [
    style ? `<link rel="stylesheet" href="/${style}">` : "",
    `<script type="module" src="/${script}"></script>`,
  ].join("\n    ");
  if (!template.includes("<!-- nara:assets -->")) fail("web/index.html lacks the <!-- nara:assets --> marker");
  writeFileSync(join(stage, "index.html"), template.replace("<!-- nara:assets -->", tags));
  return outputs;
}

function buildBook(stage, prebuilt) {
  const target = join(stage, "docs");
  if (prebuilt) {
    cpSync(prebuilt, target, { recursive: true });
    return;
  }
  const run = spawnSync("mdbook", ["build", join(repoRoot, "docs"), "--dest-dir", target], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (run.error && run.error.code === "ENOENT") {
    fail("mdbook is not on PATH; run `make bootstrap` (or `cargo install mdbook --locked`) first");
  }
  if (run.status !== 0) fail(`mdbook build failed with exit status ${run.status}`);
}

// mdBook 0.5 names its static files NAME-<8 hex digits>.EXT after their content; pages
// (.html) keep stable names and must be revalidated.
const BOOK_HASHED = /-[0-9a-f]{8}(\.min)?\.[a-z0-9]+$/;

function bookHashedFiles(bookDir) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const abs = join(dir, entry);
      if (statSync(abs).isDirectory()) walk(abs);
      else if (BOOK_HASHED.test(entry) && !entry.endsWith(".html")) found.push(`docs/${relative(bookDir, abs)}`);
    }
  };
  walk(bookDir);
  return found;
}

const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|txt|map|xml|ttf|otf|eot|ico|md|wasm)$/;

function compressTree(stage) {
  let count = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir)) {
      const abs = join(dir, entry);
      if (statSync(abs).isDirectory()) {
        walk(abs);
        continue;
      }
      if (!COMPRESSIBLE.test(entry)) continue;
      const body = readFileSync(abs);
      const br = brotliCompressSync(body, {
        params: {
          [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
          [zlib.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      });
      const gz = gzipSync(body, { level: 9 });
      // A variant that saves little is not worth a Vary split or the bytes in the binary.
      if (br.length < body.length * 0.9) writeFileSync(`${abs}.br`, br);
      if (gz.length < body.length * 0.9) writeFileSync(`${abs}.gz`, gz);
      count++;
    }
  };
  walk(stage);
  return count;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const stage = `${opts.out}.partial`;
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });

  step("bundling the SPA with esbuild");
  const spaOutputs = await buildSpa(stage);
  // Files served as they are, at the root (the favicon).
  cpSync(join(webDir, "public"), stage, { recursive: true });
  step(opts.book ? `staging the prebuilt book from ${opts.book}` : "building the book with mdbook");
  buildBook(stage, opts.book);
  step("precompressing (brotli, gzip)");
  const compressed = compressTree(stage);

  mkdirSync(join(stage, ".nara"), { recursive: true });
  const manifest = {
    format: 1,
    sources_sha256: sourcesHash(repoRoot),
    immutable: [...spaOutputs.filter((p) => p.startsWith("assets/")), ...bookHashedFiles(join(stage, "docs"))].sort(),
  };
  writeFileSync(join(stage, ".nara/manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);

  rmSync(opts.out, { recursive: true, force: true });
  renameSync(stage, opts.out);
  step(`wrote ${relative(process.cwd(), opts.out) || "."} (${compressed} files precompressed)`);
}

main().catch((err) => fail(err.stack || String(err)));
