#!/usr/bin/env python3
"""Inputs for the lifecycle benchmarks (BENCHMARKS.md, "Flag lifecycle"):

  generate.py tree DIR     a flags/ directory of 500 flags and app/, a tree of
                           100,000 source files (TypeScript, Python, Go, Java,
                           Rust; ~2 KB each, one in ten reading a flag), with a
                           .gitignore'd build/ directory of 10,000 more
  generate.py flags DIR    old/ and new/: two repositories of 10,000 flags in
                           100 files, new/ with 1,000 flags changed (defaults,
                           rollouts, rules added, renames) and 100 removed
  generate.py history DIR  a git repository of 200 flags with 1,000 commits,
                           each changing one flag's rollout, a day apart

Deterministic (seeded), no network, standard library only.
"""
import datetime
import os
import random
import subprocess
import sys

LANGS = {
    "ts": ('// {n}\nexport function view{n}(client: Client) {{\n  const on = client.getBooleanValue("{key}", false);\n  return on;\n}}\n', "//"),
    "py": ('# {n}\ndef view_{n}(client):\n    return client.get_boolean_value("{key}", False)\n', "#"),
    "go": ('// {n}\npackage app\n\nfunc View{n}(ctx context.Context, c Client) bool {{\n\treturn c.BooleanValue(ctx, "{key}", false, nil)\n}}\n', "//"),
    "java": ('// {n}\nclass View{n} {{\n  boolean on(Client c) {{ return c.getBooleanValue("{key}", false); }}\n}}\n', "//"),
    "rs": ('// {n}\nfn view_{n}(s: &Snapshot, ctx: &Context) -> bool {{\n    s.bool_value("{key}", ctx, 0, false)\n}}\n', "//"),
}

FILLER = "".join(
    f"    let value_{i} = compute(input, {i}); // ordinary code without flags\n" for i in range(40)
)


def flag(name, owner, percent, rules=1):
    out = f'flag {name}: bool {{\n  kind release\n  owner "{owner}"\n  default false\n'
    for r in range(rules):
        out += f'  rule r{r}: when user.country == "C{r}" => {percent}% by user.id\n'
    return out + "}\n\n"


CONTEXT = "context user {\n  key id: string\n  country: string\n}\n"


def tree(root):
    rnd = random.Random(18)
    os.makedirs(f"{root}/flags", exist_ok=True)
    keys = [f"flag-{i}" for i in range(500)]
    with open(f"{root}/flags/flags.flag", "w") as f:
        f.write(CONTEXT + "\n")
        for k in keys:
            f.write(flag(k, "team-a", 50))
    os.makedirs(f"{root}/app", exist_ok=True)
    with open(f"{root}/app/.gitignore", "w") as f:
        f.write("build/\n")
    exts = list(LANGS)
    for n in range(110_000):
        ignored = n >= 100_000
        d = f"{root}/app/build/m{n % 100}" if ignored else f"{root}/app/pkg{n % 100}/mod{n // 100 % 10}"
        os.makedirs(d, exist_ok=True)
        ext = exts[n % len(exts)]
        template, comment = LANGS[ext]
        key = keys[rnd.randrange(len(keys))] if n % 10 == 0 else "not-a-flag"
        body = template.format(n=n, key=key) + comment + FILLER.replace("//", comment)
        with open(f"{d}/f{n}.{ext}", "w") as f:
            f.write(body)


def flags(root):
    rnd = random.Random(18)
    for side in ("old", "new"):
        os.makedirs(f"{root}/{side}", exist_ok=True)
    names = [f"flag-{i}" for i in range(10_000)]
    changed = set(rnd.sample(range(10_000), 1_100))
    removed = set(list(changed)[:100])
    for file in range(100):
        old = [CONTEXT + "\n"] if file == 0 else []
        new = list(old)
        for i in range(file * 100, file * 100 + 100):
            owner = f"team-{i % 20}"
            old.append(flag(names[i], owner, 10, rules=3))
            if i in removed:
                continue
            if i in changed:
                kind = i % 4
                if kind == 0:
                    new.append(flag(names[i], owner, 25, rules=3))
                elif kind == 1:
                    new.append(flag(names[i], owner, 10, rules=4))
                elif kind == 2:
                    new.append(flag(names[i] + "-renamed", owner, 10, rules=3))
                else:
                    new.append(flag(names[i], owner, 10, rules=3).replace("default false", "default true"))
            else:
                new.append(flag(names[i], owner, 10, rules=3))
        for side, items in (("old", old), ("new", new)):
            # In canonical format (`vexil fmt`), as a repository keeps it.
            with open(f"{root}/{side}/f{file:03}.flag", "w") as f:
                f.write("".join(items).rstrip("\n") + "\n")


def history(root):
    os.makedirs(root, exist_ok=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="Ana", GIT_AUTHOR_EMAIL="ana@shop.example",
               GIT_COMMITTER_NAME="Ana", GIT_COMMITTER_EMAIL="ana@shop.example")
    git = lambda *a, date: subprocess.run(["git", "-c", "commit.gpgsign=false", *a], cwd=root, check=True,
                                          env=dict(env, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date),
                                          stdout=subprocess.DEVNULL)
    git("init", "-q", date="2024-01-01T09:00:00Z")
    percents = [10] * 200
    start = datetime.datetime(2024, 1, 1)

    def write():
        for file in range(10):
            with open(f"{root}/f{file}.flag", "w") as f:
                if file == 0:
                    f.write(CONTEXT + "\n")
                for i in range(file * 20, file * 20 + 20):
                    f.write(flag(f"flag-{i}", f"team-{i % 5}", percents[i]))

    for c in range(1000):
        # Always another percentage, so every commit changes one line.
        percents[c % 200] = percents[c % 200] % 99 + 1
        write()
        day = (start + datetime.timedelta(days=c)).strftime("%Y-%m-%dT09:00:00Z")
        git("add", ".", date=day)
        git("commit", "-q", "-m", f"change {c}", date=day)


if __name__ == "__main__":
    what, root = sys.argv[1], sys.argv[2]
    {"tree": tree, "flags": flags, "history": history}[what](root)
