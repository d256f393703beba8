#!/usr/bin/env python3
# check-exports.py LIBPOOL_SO SYMFILE INCLUDE_DIR: libpool.so exports exactly
# what libpool.sym lists, and the public block of libpool.sym is exactly the
# functions declared in the public headers. A function added to a public
# header but not to libpool.sym would otherwise only fail when some program
# first calls it; one listed but no longer declared would stay exported.
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import glob
import os
import re
import subprocess
import sys


def sym_names(path):
    text = re.sub(r'/\*.*?\*/', '', open(path).read(), flags=re.S)
    public, private = set(), set()
    for node, body in re.findall(r'([\w.]+)\s*\{(.*?)\}', text, flags=re.S):
        glob_part = body.split('local:')[0].replace('global:', '')
        names = {n.strip() for n in glob_part.split(';') if n.strip()}
        (public if node.startswith('LIBPOOL_0') else private).update(names)
    return public, private


def drop_inline_bodies(text):
    """Remove the bodies of static inline functions: the calls inside them
    are not declarations."""
    out, i = [], 0
    for m in re.finditer(r'\bstatic\s+inline\b[^;{]*\{', text):
        if m.start() < i:
            continue
        out.append(text[i:m.end() - 1])
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == '{':
                depth += 1
            elif text[j] == '}':
                depth -= 1
                if depth == 0:
                    break
            j += 1
        out.append(';')
        i = j + 1
    out.append(text[i:])
    return ''.join(out)


def declared(include_dir):
    names = set()
    for h in glob.glob(os.path.join(include_dir, '*.h')):
        text = re.sub(r'/\*.*?\*/', '', open(h).read(), flags=re.S)
        text = re.sub(r'^\s*#(?:[^\n]*\\\n)*[^\n]*$', '', text, flags=re.M)
        text = drop_inline_bodies(text)
        for line in text.splitlines():
            if line.lstrip().startswith('static'):
                continue  # inline helpers live in the header, not the library
            names.update(re.findall(r'\b(pool_[a-z0-9_]+)\s*\(', line))
            # data: extern const poolOpSpec pool_catalogue[];
            names.update(re.findall(r'^\s*extern\b[^(;]*\b(pool_[a-z0-9_]+)\s*(?:\[[^]]*\])?\s*;', line))
    return names


def exported(so):
    out = subprocess.run(['nm', '-D', '--defined-only', so], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] != 'A':  # 'A': the version nodes' own names
            names.add(fields[-1].split('@')[0])
    return names


def main():
    so, symfile, include_dir = sys.argv[1:4]
    public, private = sym_names(symfile)
    decl = declared(include_dir)
    exp = exported(so)
    problems = []
    for n in sorted(decl - public):
        problems.append(f'{n}: declared in a public header but not in libpool.sym')
    for n in sorted(public - decl):
        problems.append(f'{n}: in libpool.sym but declared in no public header')
    for n in sorted(public | private):
        if n not in exp:
            problems.append(f'{n}: listed in libpool.sym but not exported')
    for n in sorted(exp - public - private):
        problems.append(f'{n}: exported but not listed in libpool.sym')
    for p in problems:
        print(p)
    print(f'{len(exp)} exported ({len(public)} public, {len(private)} private)')
    return 1 if problems else 0


sys.exit(main())
