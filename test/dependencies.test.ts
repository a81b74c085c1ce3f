/**
 * The Docker image installs production dependencies only (`npm ci --omit=dev`): every package that service
 * or library code imports at run time must be a dependency (root or its workspace), not a devDependency.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./stack.ts";

function tsFiles(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = `${dir}/${name}`;
    if (statSync(p).isDirectory()) out = out.concat(tsFiles(p));
    else if (p.endsWith(".ts")) out.push(p);
  }
  return out;
}

function deps(pkgJson: string): Set<string> {
  const pkg = JSON.parse(readFileSync(pkgJson, "utf8")) as { dependencies?: Record<string, string> };
  return new Set(Object.keys(pkg.dependencies ?? {}));
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

describe("runtime imports are production dependencies", () => {
  it("no service or library source imports a devDependency or an undeclared package", () => {
    const rootDeps = deps(`${repoRoot}/package.json`);
    const builtins = new Set(builtinModules);
    const problems: string[] = [];
    for (const kind of ["libs", "services"]) {
      for (const ws of readdirSync(`${repoRoot}/${kind}`)) {
        const src = `${repoRoot}/${kind}/${ws}/src`;
        let files: string[];
        try {
          files = tsFiles(src);
        } catch {
          continue; // a workspace without sources yet
        }
        const allowed = new Set([...rootDeps, ...deps(`${repoRoot}/${kind}/${ws}/package.json`)]);
        for (const file of files) {
          const text = readFileSync(file, "utf8");
          // Value imports only: `import type` is erased before run time.
          const re =
            /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
          for (const m of text.matchAll(re)) {
            const spec = m[1] ?? m[2];
            if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec)) continue;
            const name = packageName(spec);
            if (name.startsWith("@certstream/") || allowed.has(name)) continue;
            problems.push(`${file.slice(repoRoot.length + 1)} imports ${name}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
