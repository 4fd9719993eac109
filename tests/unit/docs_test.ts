/**
 * The README stays a page a newcomer finishes, and nothing moved out of it is lost: it is at most
 * 300 lines, links every page under `docs/`, and every relative link in the README and the docs
 * points at a file that exists (and, with `#anchor`, at a heading that exists in it).
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { ROOT } from "../helpers/server_process.ts";
import { needs, READ } from "../helpers/permissions.ts";

const test = needs(READ);

const README = join(ROOT, "README.md");
const DOCS = join(ROOT, "docs");

function docsPages(): string[] {
  return [...Deno.readDirSync(DOCS)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".md"))
    .map((entry) => join(DOCS, entry.name))
    .sort();
}

/** The text outside fenced code blocks (a `](x)` inside a code sample is not a link). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, "");
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  return new Set(
    [...prose(markdown).matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)),
  );
}

/** Relative links `[text](target)` of a markdown file: [target path or "", anchor or ""]. */
function relativeLinks(markdown: string): Array<[string, string]> {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z]+:/i.test(target))
    .map((target) => {
      const [path = "", anchor = ""] = target.split("#");
      return [path, anchor];
    });
}

test("README is at most 300 lines, with no line over 200 characters", () => {
  const lines = Deno.readTextFileSync(README).split("\n");
  assert.ok(lines.length <= 300, `README.md has ${lines.length} lines`);
  const long = lines.flatMap((line, i) => line.length > 200 ? [i + 1] : []);
  assert.deepEqual(long, [], "README lines over 200 characters");
});

test("README links every page under docs/", () => {
  const readme = Deno.readTextFileSync(README);
  const linked = new Set(
    relativeLinks(readme).map(([path]) => normalize(join(ROOT, path))),
  );
  const pages = docsPages();
  assert.ok(pages.length >= 8, "docs/ holds the pages moved out of the README");
  for (const page of pages) {
    assert.ok(linked.has(page), `README.md links ${relative(ROOT, page)}`);
  }
});

test("every relative link in the README and docs/ points at a file and heading that exist", () => {
  for (const file of [README, ...docsPages()]) {
    const text = Deno.readTextFileSync(file);
    for (const [path, anchor] of relativeLinks(text)) {
      const target = path === "" ? file : normalize(join(dirname(file), path));
      const where = `${relative(ROOT, file)} -> ${path}${anchor ? `#${anchor}` : ""}`;
      let stat: Deno.FileInfo;
      try {
        stat = Deno.statSync(target);
      } catch {
        assert.fail(`${where}: no such file`);
      }
      if (anchor !== "") {
        assert.ok(stat.isFile, `${where}: an anchor into a directory`);
        assert.ok(
          anchorsOf(Deno.readTextFileSync(target)).has(anchor),
          `${where}: no such heading`,
        );
      }
    }
  }
});
