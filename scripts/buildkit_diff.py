#!/usr/bin/env python3
"""Differential test of jcx's `dockerfile` blocks against BuildKit's own Dockerfile parser.

    python3 scripts/buildkit_diff.py [--jcx PATH] [--count N] [--seed S] [--verbose]

Generates and mutates `dockerfile` blocks (heredocs in every quoting form, `<<-`, several on
one line, escaped quotes, `\\` continuations through blank and comment lines, blanks after
`\\`, the JSON form with escaped quotes, ONBUILD, comments, parser directives, CRLF, tabs,
no-break spaces), wraps each into a real manifest, and runs `jcx compile` on it. For every
manifest jcx accepts, the generated Dockerfile is parsed with BuildKit's parser (the PyPI
`dockerfile` package wraps it) and must have:

- exactly one FROM;
- as its last instruction jcx's own closing `USER ${NB_UID}`, read as a line of its own (so
  no block swallowed it);
- each block's text, byte for byte, where jcx put its placeholder (jcx writes what it read).

A manifest jcx refuses is counted, and the Dockerfile jcx would have written is parsed too,
to count how many refusals BuildKit would have read safely (refusing a safe block is allowed;
accepting an unsafe one fails the test). The generator is seeded: CI passes a fixed seed, a
local run picks one and prints it.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

import dockerfile

BASE = "quay.io/jupyter/scipy-notebook:python-3.11"
CLOSING = "USER ${NB_UID}"

# Terminators: plain, with blanks or quotes inside, and jcx's own lines after a block.
TERMINATORS = [
    "EOF", "END", "E_O-F.1", "A B", "USER ${NB_UID}", "USER root", "# Whatever the blocks",
    "x\\y", "'q'", '"dq"', "-EOF", "2", "$x", "${x}", "\tEOF", "EOF ", "ÉOF",
]

WORDS = [
    "echo", "hi", "a", "x", "/tmp/x", "&&", "true", "cat", ">", "|", ";", "-c", "python3",
    "'it''s'", '"a b"', "\\'", '\\"', "\\\\", "'", '"', "\\", "$x", "${x}", "${x:-y}",
    "${x%y}", "$((1 << 2))", "'<<EOF'", '"<<EOF"', "a<<EOF", "<<<x", "${x!}", "$'", "\\ ",
    "#", "print(1<<2)", "\t", "\u00a0", "--", "--mount=type=cache,target=/x", '--x="a b"',
    "[", "]", '["a"]', "{", "}", "$", "<", "<<", "-", "é", "$@", "${#}",
]

KEYWORDS = [
    "RUN", "run", "Run", "COPY", "ADD", "ONBUILD RUN", "ONBUILD COPY", "ONBUILD ADD", "USER",
    "CMD", "ENTRYPOINT", "WORKDIR", "ARG", "SHELL", "HEALTHCHECK CMD", "EXPOSE", "VOLUME",
    "STOPSIGNAL", "MAINTAINER",
]
# Instructions a block may not hold, or that are not instructions (some only to Go's Unicode).
ODD_KEYWORDS = [
    "FROM", "from", "FrOm", "ONBUILD FROM", "ONBUILD", "ONBUILD ONBUILD RUN", "RUNN", "EOF",
    "USERR", "FROM\u00a0x", "RUN\u00a0", "WOR\u212aDIR", "ONBU\u0130LD RUN", "ENV", "LABEL",
]


def keyword(rng):
    return rng.choice(ODD_KEYWORDS if rng.random() < 0.12 else KEYWORDS)


BODY = [
    "echo hi", "FROM docker.io/attacker/notebook:latest", "from y", "USER root", "EOF", "\tEOF",
    "EOF ", " EOF", "", "#", "# c", "\\", "RUN x \\", CLOSING, "\t\tEND", "END", "A B",
    "print('from x import y')",
]

COMMENTS = [
    "# a comment", "  # indented", "#", "# syntax=docker/dockerfile:1", "#escape=`",
    "# check=skip=all", "# Syntax = x", "# hadolint ignore=DL3008", "#!/bin/sh",
]


def opener(rng, term):
    """A heredoc word for `term`, in one of the forms BuildKit knows (and some it does not)."""
    forms = [
        "<<{t}", "<<-{t}", "<<'{t}'", '<<"{t}"', "<<-'{t}'", '<<-"{t}"', "<< {t}", "<<- {t}",
        "<<\t{t}", "2<<{t}", "<<\\{t}", "<<{t}\\'", "<<'{t}", '<<"{t}', "<<'{t}'x", '<<"{t}"\'y\'',
        "<<{t}>/tmp/f", "<<${{x}}{t}", "<<{t}${{x:-y}}",
    ]
    if " " in term or "\t" in term:
        forms = ["<<'{t}'", '<<"{t}"', "<<-'{t}'", "<<{t}"]
    return rng.choice(forms).format(t=term)


def json_line(rng):
    return rng.choice([
        'RUN ["echo", "a\\" <<\'USER root\' \\""]',
        'RUN ["echo", "<<EOF"]',
        'RUN ["a"] <<EOF',
        'RUN ["a",] <<EOF',
        'RUN ["a", 1]',
        'RUN [ "a" , "b" ]\t',
        'RUN --network=none ["sh", "-c", "cat <<EOF"]',
        'COPY ["<<EOF", "/x"]',
        'ONBUILD RUN ["x", "<<EOF"]',
        'CMD ["a"] b',
        'HEALTHCHECK CMD ["a", null]',
        'RUN ["\\u0041", "<<E"]',
        "RUN ['a', '<<EOF']",
        'RUN ["a" "b"] <<EOF',
        'SHELL ["/bin/sh", "-c"]',
    ])


def args(rng, n=None):
    n = rng.randint(0, 4) if n is None else n
    return " ".join(rng.choice(WORDS) for _ in range(n))


def heredoc_instruction(rng):
    """An instruction with one or more heredocs, then their bodies and (mostly) terminators."""
    terms = [rng.choice(TERMINATORS) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    kw = rng.choice(["RUN", "RUN", "run", "COPY", "ADD", "ONBUILD RUN", "RUN --mount=type=tmpfs,target=/t"])
    words = [opener(rng, t) for t in terms]
    line = kw + " " + args(rng, rng.randint(0, 2)) + " " + " ".join(words) + " " + args(rng, rng.randint(0, 2))
    lines = [line.rstrip() if rng.random() < 0.8 else line]
    if rng.random() < 0.2:  # the instruction goes on over a continuation
        lines[-1] += " \\"
        lines += rng.choice([["  && true"], ["# c", "  && true"], ["", "  && x"], ["\\", "y"]])
    for t in terms:
        for _ in range(rng.randint(0, 3)):
            lines.append(rng.choice(BODY))
        if rng.random() < 0.8:
            lines.append(rng.choice([t, t, "\t" + t, t + " ", t.strip()]))
    return lines


def continuation(rng):
    line = keyword(rng) + " " + args(rng)
    lines = [line + rng.choice([" \\", "\\", " \\ ", " \\\t", " \\\\", " \\\\\\", " \\\u00a0"])]
    for _ in range(rng.randint(0, 3)):
        lines.append(rng.choice(["", "   ", "# c", "  # c", "  more \\", "  " + args(rng), "\\", "FROM x"]))
    return lines


CLEAN_TERMINATORS = ["EOF", "END", "A B", "USER ${NB_UID}", "x\\y", "$x", "E'F", 'E"F', "-X"]
CLEAN_OPENERS = ["<<{t}", "<<-{t}", "<<'{t}'", '<<"{t}"', "<<-'{t}'", "2<<{t}", "<<\\{t}"]
CLEAN_WORDS = [w for w in WORDS if w not in ("${x:-y}", "${x%y}", "$((1 << 2))", "'", '"', "${x!}", "$'", "\\", "\\ ", "#", "<<")]


def clean_block(rng):
    """A block BuildKit reads without trouble, but with the constructs that fooled jcx before:
    escaped quotes, several heredocs per line, `<<-` with tabs, JSON with escaped quotes,
    continuations through comment lines, heredoc bodies that look like instructions."""
    lines = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.45:
            terms = [rng.choice(CLEAN_TERMINATORS) for _ in range(rng.choice([1, 1, 2, 3]))]
            words = []
            for t in terms:
                form = rng.choice(CLEAN_OPENERS)
                if any(c in t for c in " $'\"\\") or t.startswith("-"):
                    form = rng.choice(["<<'{t}'", "<<-'{t}'"]) if "'" not in t else '<<"{t}"'
                words.append((form.format(t=t), form.startswith("<<-")))
            pre = " ".join(rng.choice(CLEAN_WORDS) for _ in range(rng.randint(0, 2)))
            kw = rng.choice(["RUN", "run", "COPY", "ADD", "ONBUILD RUN", "RUN --mount=type=tmpfs,target=/t"])
            lines.append(" ".join(x for x in [kw, pre, " ".join(w for w, _ in words), rng.choice(["", "&& true", "\\'", '\\"'])] if x))
            if rng.random() < 0.2:
                lines[-1] += " \\"
                lines += rng.choice([["  && true"], ["# c", "  && true"], ["  # c", "\\", "y"]])
            for t, (_, chomp) in zip(terms, words):
                lines += [rng.choice(BODY) for _ in range(rng.randint(0, 3))]
                lines.append(("\t" * rng.randint(0, 2) if chomp else "") + t)
        elif kind < 0.6:
            lines.append(rng.choice(KEYWORDS) + " " + args(rng, 1) + rng.choice([" \\", "\\", " \\ ", " \\\t"]))
            for _ in range(rng.randint(0, 2)):
                lines.append(rng.choice(["# c", "  # FROM x", "  more \\", "\\"]))
            lines.append("  " + rng.choice(["end", "FROM x", "USER root", "<<EOF"]))
        elif kind < 0.7:
            lines.append(rng.choice([
                'RUN ["echo", "a\\" <<\'USER root\' \\""]', 'RUN ["echo", "<<EOF"]', 'COPY ["<<EOF", "/x"]',
                'ONBUILD RUN ["x", "<<EOF"]', 'RUN --network=none ["sh", "-c", "cat <<EOF"]', 'CMD ["a"]',
            ]))
        elif kind < 0.8:
            lines.append(rng.choice(["# a comment", "  # indented", "#", "# syntax is nice", ""]))
        else:
            lines.append(rng.choice(KEYWORDS) + " " + " ".join(rng.choice(CLEAN_WORDS) for _ in range(rng.randint(1, 3))))
    return lines


def block(rng):
    """One `dockerfile` block as a list of lines."""
    lines = []
    for _ in range(rng.randint(1, 5)):
        kind = rng.random()
        if kind < 0.35:
            lines += heredoc_instruction(rng)
        elif kind < 0.5:
            lines += continuation(rng)
        elif kind < 0.6:
            lines.append(json_line(rng))
        elif kind < 0.7:
            lines.append(rng.choice(COMMENTS))
        elif kind < 0.75:
            lines.append(rng.choice(["", "  ", "\t"]))
        elif kind < 0.8:
            lines.append(rng.choice(["USER root", "USER ${NB_UID}", "ENV A=1 B='x y'", "ENV A", "LABEL a=1 b"]))
        else:
            lines.append(keyword(rng) + " " + args(rng))
    return lines


SPECIAL = "\\'\"<>-${}[]# \t\n-\u00a0"


def mutate(rng, text):
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        i = rng.randint(0, len(text))
        if op < 0.5:
            text = text[:i] + rng.choice(SPECIAL) + text[i:]
        elif op < 0.8 and text:
            text = text[:i] + text[i + 1:]
        else:
            lines = text.split("\n")
            j = rng.randrange(len(lines))
            lines.insert(j, lines[j])
            text = "\n".join(lines)
    return text


def blocks(rng, count):
    """`count` block texts: the two reproductions of issue 16, the longest line BuildKit reads
    and one byte more, then generated ones."""
    yield 'RUN echo \\\' <<"USER ${NB_UID}"'
    yield 'RUN ["echo", "a\\" <<\'USER root\' \\""]\nFROM docker.io/attacker/notebook:latest'
    # BuildKit's longest line, and one byte more.
    yield "RUN echo " + "x" * (65535 - 9)
    yield "RUN echo " + "x" * (65536 - 9)
    for _ in range(count - 4):
        text = "\n".join(clean_block(rng) if rng.random() < 0.5 else block(rng))
        if rng.random() < 0.25:
            text = mutate(rng, text)
        if rng.random() < 0.05:
            text = text.replace("\n", "\r\n")
        yield text


def kdl_string(text):
    """`text` as a KDL quoted string, exactly."""
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F:
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def kdl_raw_multiline(text):
    """`text` as an indented KDL multi-line raw string, as people write blocks; None when it
    cannot be one. KDL keeps it except that lines of blanks become empty lines."""
    if "\r" in text or any(c in text for c in "\x0b\x0c\x85\u2028\u2029"):
        return None
    hashes = "#" * (max((len(h) for h in re.findall(r'"""(#*)', text)), default=0) + 1)
    body = "\n".join("        " + line if line.strip() else "" for line in text.split("\n"))
    return f'{hashes}"""\n{body}\n        """{hashes}'


def kdl_value(text):
    """What the manifest's string holds, for a block written as a raw multi-line string."""
    return "\n".join(line if line.strip() else "" for line in text.split("\n"))


def manifest(blocks_, apt, raw=False, crlf=False):
    """A manifest whose one app has the given (text, as_root) blocks."""
    lines = ["manifest-version 1", 'registry "ghcr.io" namespace=lab', "app x {", f'    base "{BASE}"']
    if apt:
        lines.append("    apt curl")
    for text, root in blocks_:
        value = (raw and kdl_raw_multiline(text)) or kdl_string(text)
        lines.append(f"    dockerfile {value}" + (" user=root" if root else ""))
    lines.append("}")
    return ("\r\n" if crlf else "\n").join(lines) + ("\r\n" if crlf else "\n")


def compile_(jcx, work, text):
    """jcx's Dockerfile for a manifest, or None when jcx refuses it (then the codes)."""
    with open(os.path.join(work, "apps.kdl"), "w", encoding="utf-8", newline="") as f:
        f.write(text)
    out = os.path.join(work, "out")
    r = subprocess.run(
        [jcx, "compile", os.path.join(work, "apps.kdl"), "--out", out, "--quiet", "--force",
         "--message-format", "json"],
        capture_output=True, text=True,
    )
    if r.returncode == 0:
        with open(os.path.join(out, "src/x/Dockerfile"), encoding="utf-8", newline="") as f:
            return f.read(), None
    if r.returncode != 2:
        raise SystemExit(f"jcx crashed ({r.returncode}) on:\n{text}\n{r.stderr}")
    reasons = set()
    for line in r.stdout.splitlines() + r.stderr.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            reasons.add(reason(d.get("code", "?"), d.get("message", "")))
    return None, sorted(reasons) or ["?"]


REASONS = [
    ("new build stage", "FROM"), ("ONBUILD", "ONBUILD trigger"),
    ("not a Dockerfile instruction", "unknown instruction"), ("parser directive", "directive"),
    ("ends with a line continued", "open continuation"), ("empty line inside", "empty continuation line"),
    ("inside a heredoc", "open heredoc"), ("parser refuses", "BuildKit parser error"),
    ("releases read this line differently", "read differently by BuildKit releases"),
    ("longer than BuildKit", "line too long"), ("contains the character", "character"),
    ("is empty", "empty block"),
]


def reason(code, message):
    """A refusal's class: the code, and for `dockerfile` blocks what was wrong."""
    if code != "jcx::invalid_dockerfile":
        return code
    return next((name for key, name in REASONS if key in message), message)


def rendered(text):
    """The lines jcx writes for a block: without its leading and trailing blank lines."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def verdict(dockerfile_text):
    """None when BuildKit reads the Dockerfile as jcx promises, else what is wrong."""
    try:
        cmds = dockerfile.parse_string(dockerfile_text)
    except dockerfile.GoParseError as e:
        return f"BuildKit cannot parse it: {e}"
    froms = sum(1 for c in cmds if c.cmd.upper() == "FROM")
    if froms != 1:
        return f"{froms} FROM instructions"
    last = cmds[-1]
    n = dockerfile_text.rstrip("\n").count("\n") + 1
    if (last.cmd.upper(), last.value, last.original, last.start_line, last.end_line) != ("USER", ("${NB_UID}",), CLOSING, n, n):
        return f"the last instruction is not jcx's closing line: {last}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jcx", default="target/debug/jcx")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
    print(f"buildkit-diff: seed {seed}, {a.count} blocks, BuildKit parser from dockerfile {dockerfile_version()}")
    rng = random.Random(seed)
    accepted = refused = refused_safe = raws = crlfs = 0
    failures = []
    codes = {}
    templates = {}
    with tempfile.TemporaryDirectory() as work:
        for i, text in enumerate(blocks(rng, a.count)):
            apt = rng.random() < 0.5
            root = i < 2 or rng.random() < 0.7
            shape = [(text, root)]
            if rng.random() < 0.2:  # a second block, before or after
                other = ("RUN echo second", rng.random() < 0.5)
                shape = [other] + shape if rng.random() < 0.5 else shape + [other]
            key = (apt, tuple(r for _, r in shape))
            if key not in templates:
                placeholders = [(f"RUN echo JCX-PLACEHOLDER-{j}", r) for j, (_, r) in enumerate(shape)]
                templates[key], _ = compile_(a.jcx, work, manifest(placeholders, apt))
            # Some blocks are written as people write them: raw multi-line strings, sometimes
            # in a manifest with CRLF line endings.
            raw = rng.random() < 0.15 and all(kdl_raw_multiline(t) for t, _ in shape)
            crlf = raw and rng.random() < 0.5
            raws += raw
            crlfs += crlf
            expected = templates[key]
            for j, (t, _) in enumerate(shape):
                value = kdl_value(t) if raw else t
                expected = expected.replace(f"RUN echo JCX-PLACEHOLDER-{j}\n", "".join(l + "\n" for l in rendered(value)))
            out, why = compile_(a.jcx, work, manifest(shape, apt, raw, crlf))
            if out is None:
                refused += 1
                for c in why:
                    codes[c] = codes.get(c, 0) + 1
                refused_safe += verdict(expected) is None
                if a.verbose:
                    print(f"refused {why}: {text!r}")
                continue
            accepted += 1
            problem = verdict(out)
            if problem is None and out != expected:
                problem = "jcx did not write the block as it is"
            if problem:
                failures.append((text, problem))
    print(f"accepted {accepted}, refused {refused} ({refused_safe} of which BuildKit would have read safely), failures {len(failures)}")
    print(f"({raws} written as raw multi-line strings, {crlfs} of them in manifests with CRLF line endings)")
    print("refusals (a block may have several reasons):")
    for c, n in sorted(codes.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6}  {c}")
    kinds = {}
    for _, problem in failures:
        kind = problem.split(":")[0] if problem.startswith("BuildKit cannot") else (
            "jcx did not write the block as it is" if problem.startswith("jcx did not") else "unsafe: " + problem.split(":")[0])
        kinds[kind] = kinds.get(kind, 0) + 1
    for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6}  failures: {kind}")
    for text, problem in failures[:20]:
        print(f"FAIL: jcx accepted {text!r}: {problem}")
    if failures:
        print(f"buildkit-diff: {len(failures)} accepted blocks fail (seed {seed})")
        return 1
    return 0


def dockerfile_version():
    try:
        from importlib.metadata import version
        return version("dockerfile")
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
