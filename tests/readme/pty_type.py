"""Run a command on a pseudo-terminal (its controlling terminal, stdin, stdout
and stderr) and type the given words, one per prompt, as a user would.

Usage: pty_type.py TIMEOUT LOG WORD... -- CMD...
A prompt is output that stops without a newline (e.g. "Please enter PIN: ")
for 0.2 s; the next WORD and a newline are typed then. Everything the terminal
showed goes to LOG. Exits with the command's exit code (128 + signal when it
was killed; 124 after TIMEOUT seconds, the command's process group killed).
"""
import os
import pty
import select
import signal
import sys
import time

timeout = float(sys.argv[1])
log_path = sys.argv[2]
sep = sys.argv.index('--')
words = [w.encode() for w in sys.argv[3:sep]]
cmd = sys.argv[sep + 1:]

pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)

deadline = time.time() + timeout
line = b''
last_output = time.time()
timed_out = False
with open(log_path, 'wb') as log:
    while True:
        if time.time() > deadline:
            timed_out = True
            os.killpg(pid, signal.SIGKILL)
            break
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            log.write(chunk)
            log.flush()
            line = (line + chunk).rsplit(b'\n', 1)[-1]
            last_output = time.time()
        elif line.strip() and words and time.time() - last_output > 0.2:
            os.write(fd, words.pop(0) + b'\n')
            line = b''
_, status = os.waitpid(pid, 0)
if timed_out:
    sys.exit(124)
if os.WIFSIGNALED(status):
    sys.exit(128 + os.WTERMSIG(status))
sys.exit(os.WEXITSTATUS(status))
