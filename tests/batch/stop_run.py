#!/usr/bin/env python3
"""Run qs-jwt --batch - with a stdin pipe that stays open (a reader blocked
on it gets nothing more), to see how a stop reaches it.

  stop_run.py INPUT OUT ERR [--closed-stdout] [--signal SIG --after-lines N] -- CMD...

INPUT's lines are written to the pipe, which is then kept open until the
command ends. --closed-stdout: stdout is a pipe whose reader is gone (the
first write fails with EPIPE). --signal: once OUT holds N lines, send SIG to
the command. Prints "RC SECONDS" (RC as a shell shows it: 128+N for a death
by signal N; SECONDS from the stop to the end). The command is killed after
20 s (then RC is "timeout").
"""
import os
import signal
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    cut = args.index('--')
    opts, cmd = args[:cut], args[cut + 1:]
    inp, out, err = opts[0], opts[1], opts[2]
    closed = '--closed-stdout' in opts
    sig = None
    after = 0
    if '--signal' in opts:
        sig = getattr(signal, 'SIG' + opts[opts.index('--signal') + 1])
        after = int(opts[opts.index('--after-lines') + 1])
    r, w = os.pipe()
    if closed:
        out_r, out_w = os.pipe()
        os.close(out_r)
        stdout = out_w
    else:
        stdout = open(out, 'wb')
    with open(err, 'wb') as errf:
        p = subprocess.Popen(cmd, stdin=r, stdout=stdout, stderr=errf)
    os.close(r)
    if closed:
        os.close(out_w)
    else:
        stdout.close()
    with open(inp, 'rb') as f:
        os.write(w, f.read())
    start = time.monotonic()
    deadline = start + 20
    if sig is not None:
        while time.monotonic() < deadline and p.poll() is None:
            with open(out, 'rb') as f:
                if f.read().count(b'\n') >= after:
                    break
            time.sleep(0.02)
        start = time.monotonic()
        if p.poll() is None:
            p.send_signal(sig)
    try:
        rc = p.wait(timeout=max(0.1, deadline - time.monotonic()))
        took = time.monotonic() - start
        print('%d %.2f' % (128 - rc if rc < 0 else rc, took))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        print('timeout 20')
    os.close(w)


main()
