#!/usr/bin/env python3
"""Rewrites the Subresource Integrity attributes of the web app's HTML after an edit.

Every <script src="/web/NAME"> and <link href="/web/NAME"> in Sources/ReciprocityWeb/web/*.html gets
integrity="sha256-<base64 of the file's SHA-256>" (added when missing, replaced when stale). ES modules imported
by a module get no SRI from the importing tag, so each one is listed as <link rel="modulepreload" integrity=...>,
and this script refuses a page that does not preload every module its scripts reach by imports.

Usage: scripts/web_sri.py          rewrite in place
       scripts/web_sri.py --check  exit 1 if anything is stale or missing (nothing written)
"""

import base64
import hashlib
import pathlib
import re
import sys

WEB = pathlib.Path(__file__).resolve().parents[1] / "Sources" / "ReciprocityWeb" / "web"
TAG = re.compile(r"<(script|link)\b[^>]*>", re.IGNORECASE)
URL = re.compile(r"""\b(?:src|href)="/web/([^"/]+)\"""")
INTEGRITY = re.compile(r"""\sintegrity="[^"]*\"""")
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^;]*?\bfrom\s*["']\./([^"']+)["']""", re.MULTILINE | re.DOTALL)


def integrity(name):
    return "sha256-" + base64.b64encode(hashlib.sha256((WEB / name).read_bytes()).digest()).decode()


def rewrite(html, problems, page):
    def fix(match):
        tag = match.group(0)
        url = URL.search(tag)
        if not url:
            return tag
        name = url.group(1)
        if not (WEB / name).is_file():
            problems.append(f"{page}: {name} is not in the web folder")
            return tag
        attribute = f' integrity="{integrity(name)}"'
        if INTEGRITY.search(tag):
            return INTEGRITY.sub(attribute, tag, count=1)
        return tag[:-1].rstrip("/").rstrip() + attribute + ">"
    return TAG.sub(fix, html)


def main():
    check = "--check" in sys.argv[1:]
    problems, changed = [], []
    modules = {p.name for p in WEB.glob("*.js")}
    imports = {p.name: IMPORT.findall(p.read_text(encoding="utf-8")) for p in WEB.glob("*.js")}
    for page in sorted(WEB.glob("*.html")):
        html = page.read_text(encoding="utf-8")
        new = rewrite(html, problems, page.name)
        preloaded = set(re.findall(r"""<link\b[^>]*rel="modulepreload"[^>]*href="/web/([^"]+)\"""", new))
        imported, reach = set(), re.findall(r"""<script\b[^>]*src="/web/([^"]+)\"""", new)
        while reach:
            for name in imports.get(reach.pop(), []):
                if name not in imported:
                    imported.add(name)
                    reach.append(name)
        for name in sorted(imported - preloaded):
            problems.append(f"{page.name}: {name} is imported by a module but has no <link rel=\"modulepreload\" integrity>")
        for name in sorted(imported - modules):
            problems.append(f"a module imports ./{name}, which is not in the web folder")
        if new != html:
            changed.append(page.name)
            if not check:
                page.write_text(new, encoding="utf-8")
    for problem in problems:
        print(problem, file=sys.stderr)
    if check and changed:
        print(f"stale integrity attributes in {', '.join(changed)}: run scripts/web_sri.py", file=sys.stderr)
    elif changed:
        print(f"rewrote {', '.join(changed)}")
    return 1 if problems or (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
