/**
 * Which code the services of a run execute. By default the working tree (other engineers' uncommitted edits
 * included, so the label lists the changed paths under services/ and libs/); with `--at <commit>`, that commit
 * exported (`git archive`) to a temp dir whose node_modules link to the working tree's packages, except
 * @certstream/*, which point into the export. Its test/service-process.ts then spawns its own services.
 */
import { execFileSync, execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../test/stack.ts";

export interface SourceTree {
  root: string;
  /** The commit, and for the working tree the service and library paths that differ from it. */
  label: string;
  remove(): void;
}

const gitRaw = (...args: string[]) => execFileSync("git", ["-C", repoRoot, ...args], { encoding: "utf8" });
const git = (...args: string[]) => gitRaw(...args).trim();

export function workingTree(): SourceTree {
  const head = git("rev-parse", "--short=12", "HEAD");
  const dirty = gitRaw("status", "--porcelain", "--", "services", "libs")
    .split("\n")
    .filter(Boolean)
    .map((l) => l.slice(3));
  return {
    root: repoRoot,
    label: dirty.length === 0 ? `${head} (clean)` : `${head} + uncommitted ${dirty.join(", ")}`,
    remove: () => undefined,
  };
}

export function exportCommit(commit: string): SourceTree {
  const sha = git("rev-parse", "--verify", `${commit}^{commit}`);
  const root = mkdtempSync(join(tmpdir(), `e2e-src-${sha.slice(0, 12)}-`));
  execSync(`git -C '${repoRoot}' archive ${sha} | tar -x -C '${root}'`);
  const modules = join(repoRoot, "node_modules");
  mkdirSync(join(root, "node_modules"));
  for (const name of readdirSync(modules)) {
    if (name === "@certstream") continue;
    symlinkSync(join(modules, name), join(root, "node_modules", name));
  }
  // The workspace links are relative (../../libs/ct): the same links inside the export point into it.
  mkdirSync(join(root, "node_modules/@certstream"));
  for (const name of readdirSync(join(modules, "@certstream")))
    symlinkSync(
      readlinkSync(join(modules, "@certstream", name)),
      join(root, "node_modules/@certstream", name),
    );
  return {
    root,
    label: `${git("rev-parse", "--short=12", sha)} (exported to ${root})`,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
