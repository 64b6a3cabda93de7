/* The `warden` program: one function per subcommand. Exit codes: 0 ok, 1 failure, 2 usage. */
#ifndef WARDEN_CLI_H
#define WARDEN_CLI_H

#include <stddef.h>
#include <stdint.h>

#define WD_EXIT_OK 0
#define WD_EXIT_FAIL 1
#define WD_EXIT_USAGE 2

int cmd_token(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_passwd(int argc, char **argv);

/* Read a whole file (at most max bytes) into a malloc'd NUL-terminated buffer; NULL on error
 * with errno set (EFBIG when larger than max). */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* mkdir -p: create path and its missing parents with mode 0750; 0 or -1 with errno set. */
int cli_mkdirs(const char *path);

/* Wall-clock milliseconds since the epoch, and monotonic microseconds for durations. */
int64_t cli_unix_ms(void);
int64_t cli_mono_us(void);

#endif
