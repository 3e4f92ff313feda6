/* Opening configuration files: regular files only. */
#ifndef BFF_COMPOSE_FILE_H
#define BFF_COMPOSE_FILE_H

#include <stdio.h>

/** Opens `path` for reading if it is a regular file (a symlink to one will do). A FIFO, a
 * device or a directory is refused without blocking: a FIFO named like a profile file would
 * otherwise hang the loader, and with it a reload or `bffd check`. NULL on failure, with *why
 * (may be NULL) saying why: strerror's text or "not a regular file". */
FILE *bff_fopen_regular(const char *path, const char **why);

#endif
