#!/usr/bin/env python3
"""What `qs-jwt create-qseow --batch INPUT` must print, built from single runs.

usage: expect.py INPUT EXPECTED [--expires E] [--audience A] [--error N:MSG]...
                 [--only N,N,...] -- CMD...

For every physical line N of INPUT that is neither empty nor a comment (first
character '#'), in input order:
  * with --error N:MSG: the output line {"line":N,"error":MSG};
  * otherwise the line is parsed as JSON, CMD is run once with the line's
    values as options (--userid=..., --groups=G for each group, the line's
    expires/audience or else --expires/--audience given here), its stdout must
    be one token line, and the output line is
    {"line":N,"userid":...,"userdir":...,"token":"TOKEN"}.
With --only, only those line numbers are written (the others are not run).
Strings are written as JSON.stringify writes them (non-ASCII raw, control
characters as short escapes or lowercase \\u00xx). Exit 1 with a message
when a single run fails.
"""
import json
import subprocess
import sys


def jstr(s):
    return json.dumps(s, ensure_ascii=False)


def main(argv):
    if '--' not in argv:
        sys.exit('usage: expect.py INPUT EXPECTED [options] -- CMD...')
    split = argv.index('--')
    opts, cmd = argv[:split], argv[split + 1:]
    if len(opts) < 2 or not cmd:
        sys.exit('usage: expect.py INPUT EXPECTED [options] -- CMD...')
    src, dst = opts[0], opts[1]
    expires = audience = None
    errors = {}
    only = None
    i = 2
    while i < len(opts):
        o = opts[i]
        v = opts[i + 1]
        if o == '--expires':
            expires = v
        elif o == '--audience':
            audience = v
        elif o == '--error':
            n, msg = v.split(':', 1)
            errors[int(n)] = msg
        elif o == '--only':
            only = {int(x) for x in v.split(',')}
        else:
            sys.exit('unknown option ' + o)
        i += 2

    data = open(src, 'rb').read()
    lines = data.split(b'\n')
    if data.endswith(b'\n'):
        lines.pop()
    out = []
    for n, raw in enumerate(lines, 1):
        if raw == b'' or raw.startswith(b'#'):
            continue
        if only is not None and n not in only:
            continue
        if n in errors:
            out.append('{"line":%d,"error":%s}\n' % (n, jstr(errors[n])))
            continue
        d = json.loads(raw.decode('utf-8'))
        args = ['--userid=' + d['userid'], '--userdir=' + d['userdir'],
                '--username=' + d['username'], '--useremail=' + d['useremail']]
        for g in d.get('groups', []):
            args.append('--groups=' + g)
        e = d.get('expires', expires)
        a = d.get('audience', audience)
        if e is None or a is None:
            sys.exit('line %d: no expires or audience for the single run' % n)
        args += ['--expires=' + e, '--audience=' + a]
        p = subprocess.run(cmd + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        tok = p.stdout.decode('ascii', 'replace')
        if p.returncode != 0 or not tok.endswith('\n') or tok.count('\n') != 1:
            sys.exit('line %d: single run exit %d, stdout %r, stderr %r'
                     % (n, p.returncode, p.stdout[:200], p.stderr[-600:]))
        out.append('{"line":%d,"userid":%s,"userdir":%s,"token":"%s"}\n'
                   % (n, jstr(d['userid']), jstr(d['userdir']), tok[:-1]))
    with open(dst, 'w', encoding='utf-8', newline='') as f:
        f.write(''.join(out))


if __name__ == '__main__':
    main(sys.argv[1:])
