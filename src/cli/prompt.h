/* Asking for a secret on the terminal. */
#ifndef QSJWT_PROMPT_H
#define QSJWT_PROMPT_H

#include <stddef.h>

/*
 * Write `prompt` to /dev/tty and read one line with echo off into buf (NUL-
 * terminated, newline removed). Returns the length, or -1 (no terminal,
 * interrupted with Ctrl-C, line too long, empty line); the terminal settings
 * are restored on every path, and buf is wiped on failure.
 */
int prompt_secret(const char *prompt, char *buf, size_t size);

#endif
