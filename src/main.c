/* warden: the command-line entry point. Dispatches to one subcommand per file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
          "  version         print the version\n"
          "\n"
          "Run 'warden <command> --help' for its options.\n");
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
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("warden %s\n", WARDEN_VERSION);
    return WD_EXIT_OK;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return WD_EXIT_OK;
  }
  fprintf(stderr, "warden: unknown command '%s' (expected token, serve, analyze, version or help)\n", cmd);
  return WD_EXIT_USAGE;
}
