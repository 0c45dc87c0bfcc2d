"""Run a command with a pseudo-terminal as its controlling terminal and
standard input, and type a line once the terminal shows a prompt.

Usage: tty_run.py PROMPT TYPED OUT ERR LOG CMD...
The command's stdout goes to OUT, its stderr to ERR (ERR '-': the terminal
too, so it shows in LOG); TYPED plus a newline is
typed once the terminal has shown PROMPT (the empty PROMPT types nothing);
everything the terminal showed goes to LOG. Exits with the command's exit
code (128 + signal when it was killed). Gives up after 50 s.
Environment: TTY_RUN_BEFORE, a shell command run once the prompt has shown
and before the line is typed (to change the world while the program waits);
TTY_RUN_STDIN=null, the command's stdin is /dev/null instead of the terminal
(the command does not see it).
"""
import os
import pty
import select
import subprocess
import sys
import time

prompt, typed, out, err, log = (a.encode() for a in sys.argv[1:6])
cmd = sys.argv[6:]
stdin_null = os.environ.pop('TTY_RUN_STDIN', '') == 'null'
pid, fd = pty.fork()
if pid == 0:
    o = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(o, 1)
    if stdin_null:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    if err != b'-':
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    os.execvp(cmd[0], cmd)
seen = b''
sent = not prompt
deadline = time.time() + 50
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    if not sent and prompt in seen:
        time.sleep(0.2)  # let the prompt turn echo off first
        if os.environ.get('TTY_RUN_BEFORE'):
            subprocess.run(['sh', '-c', os.environ['TTY_RUN_BEFORE']], check=False)
        os.write(fd, typed + b'\n')
        sent = True
_, status = os.waitpid(pid, 0)
with open(log, 'wb') as f:
    f.write(seen)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
