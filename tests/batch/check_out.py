"""Check a --batch output against its input, line by line.

Usage: check_out.py INPUT OUTPUT AUDIENCE EXPIRES
Output line N must be {"line":N,"userid":…,"userdir":…,"token":…} for input
line N (inputs without blank or comment lines), and the token's payload must
be exactly the claims of that line, in order: userId, userDirectory, name,
email, group (when the line has groups), iat, exp = iat + the line's
"expires" (else EXPIRES), aud = the line's "audience" (else AUDIENCE).
EXPIRES is a whole number with a unit s, m, h or d. Prints "ok N" (N lines
checked) or what the first wrong line holds. The output may stop early: a
stopped batch writes lines 1..K.
"""
import base64
import json
import sys

UNIT = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}


def seconds(text):
    return int(text[:-1]) * UNIT[text[-1]]


def main():
    inp, out, aud, expires = sys.argv[1:5]
    ins = open(inp, encoding='utf-8')
    n = 0
    for n, raw in enumerate(open(out, encoding='utf-8'), 1):
        i = json.loads(ins.readline())
        o = json.loads(raw)
        if list(o) != ['line', 'userid', 'userdir', 'token'] or o['line'] != n or \
                o['userid'] != i['userid'] or o['userdir'] != i['userdir']:
            print('output line %d is %s' % (n, raw[:150]))
            return
        p = o['token'].split('.')[1]
        pl = json.loads(base64.urlsafe_b64decode(p + '=' * (-len(p) % 4)))
        want = {'userId': i['userid'], 'userDirectory': i['userdir'], 'name': i['username'],
                'email': i['useremail']}
        if i.get('groups'):
            want['group'] = i['groups']
        iat = pl.get('iat', 0)
        want.update(iat=iat, exp=iat + seconds(i.get('expires', expires)),
                    aud=i.get('audience', aud))
        if pl != want or list(pl) != list(want):
            print('output line %d has the payload %s' % (n, json.dumps(pl, ensure_ascii=False)[:200]))
            return
    print('ok %d' % n)


main()
