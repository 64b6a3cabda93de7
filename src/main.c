/* warden: the command-line entry point. Dispatches to one subcommand per file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "warden/warden.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: warden <command> [options]\n"
          "\n"
          "Warden stops video-stream token sharing across CDNs.\n"
          "\n"
          "commands:\n"
          "  token issue     issue a token (CAT, JWT, Akamai, md5 secure link, CloudFront, Bunny)\n"
          "  token verify    verify a token against a request\n"
          "  token inspect   decode a token of any supported format without verifying\n"
          "  serve           run the decision service (HTTP API, nginx auth_request, token API)\n"
          "  analyze         find shared tokens in existing CDN logs (nginx, CloudFront, Warden)\n"
          "  sim             labelled traffic of a live event, to files or to warden serve\n"
          "  passwd          hash a console user's password for the configuration\n"
          "  version         print the version\n"
          "\n"
          "Run 'warden <command> --help' for its options.\n");
}

int cli_mkdirs(const char *path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0750) && errno != EEXIST)
        return -1;
      buf[i] = c;
    }
  }
  return 0;
}

int64_t cli_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cli_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *cli_read_file(const char *path, size_t max, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      if (cap > max + 1) {
        free(buf);
        buf = NULL;
        errno = EFBIG;
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    n += got;
    if (got == 0)
      break;
  }
  if (buf && n > max) {
    free(buf);
    buf = NULL;
    errno = EFBIG;
  }
  if (f != stdin)
    fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len)
      *len = n;
  }
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return WD_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "token") == 0)
    return cmd_token(argc - 1, argv + 1);
  if (strcmp(cmd, "serve") == 0)
    return cmd_serve(argc - 1, argv + 1);
  if (strcmp(cmd, "analyze") == 0)
    return cmd_analyze(argc - 1, argv + 1);
  if (strcmp(cmd, "sim") == 0)
    return cmd_sim(argc - 1, argv + 1);
  if (strcmp(cmd, "passwd") == 0)
    return cmd_passwd(argc - 1, argv + 1);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("warden %s\n", WARDEN_VERSION);
    return WD_EXIT_OK;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return WD_EXIT_OK;
  }
  fprintf(stderr,
          "warden: unknown command '%s' (expected token, serve, analyze, sim, passwd, version "
          "or help)\n",
          cmd);
  return WD_EXIT_USAGE;
}
