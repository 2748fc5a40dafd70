#!/usr/bin/env python3
"""Regenerates the configuration table of docs/configuration.md from ForwardAuth/Configuration/SettingsCatalogue.cs.
The table sits between <!-- settings:start --> and <!-- settings:end -->; a test checks it lists every key."""
import pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent
src = (root / "ForwardAuth/Configuration/SettingsCatalogue.cs").read_text()

def env(path):
    out = ""
    for i, c in enumerate(path):
        if c == ".":
            out += "_"
            continue
        if c.isupper() and i > 0 and path[i - 1] != ".":
            prev = path[i - 1]
            if prev.islower() or prev.isdigit():
                out += "_"
            elif prev.isupper() and i + 1 < len(path) and path[i + 1].islower():
                plural = path[i + 1] == "s" and (i + 2 >= len(path) or not path[i + 2].islower())
                if not plural:
                    out += "_"
        out += c.upper()
    return out

rows = ["| Key | Environment | Default | Meaning |", "|---|---|---|---|"]
pattern = r'new\("([^"]+)", SettingKind\.(\w+), (null|DefaultTrustedProxies|"[^"]*"), "((?:[^"\\]|\\.)*)"(, Secret: true)?'
for path, kind, default, desc, secret in re.findall(pattern, src):
    if default == "null":
        shown = "*(required)*"
    elif default == "DefaultTrustedProxies":
        shown = "loopback + private ranges (see below)"
    else:
        value = default.strip('"')
        shown = f"`{value}`" if value else "—"
    name = env(path)
    names = f"`{name}`" + (f" / `{name}_FILE`" if secret else "")
    rows.append(f"| `{path}` | {names} | {shown} | {desc}{' **Secret.**' if secret else ''} |")

page = root / "docs" / "configuration.md"
text = page.read_text()
start, end = "<!-- settings:start -->", "<!-- settings:end -->"
before, rest = text.split(start, 1)
_, after = rest.split(end, 1)
page.write_text(before + start + "\n" + "\n".join(rows) + "\n" + end + after)
print(f"{len(rows) - 2} settings")
