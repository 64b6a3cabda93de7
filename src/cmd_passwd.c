/*
 * `warden passwd`: hash a console user's password for console.users in the configuration
 * (docs/console.md). The password comes from a terminal (asked twice, not echoed), from
 * standard input (the first line), or from --password-file; the hash is printed on stdout,
 * or with --user and --role the whole YAML entry.
 *
 * Exit status: 0 printed, 1 the hash could not be made, 2 usage errors and passwords refused
 * (empty, too long, the two entries differ).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "warden/auth.h"
#include "warden/error.h"

static void passwd_usage(FILE *f) {
  fprintf(f,
"usage: warden passwd [--kdf scrypt|pbkdf2] [--user NAME --role ROLE] [--password-file FILE]\n"
"\n"
"Hashes a password for a console user (console.users in the configuration). The password is\n"
"read from the terminal (twice, not echoed), else the first line of standard input, else\n"
"--password-file. Prints the hash, or with --user and --role the YAML entry:\n"
"  - {name: alice, role: moderator, password_hash: \"$scrypt$ln=16,r=8,p=1$...\"}\n"
"\n"
"  --kdf K              scrypt (default: N=2^16, r=8, p=1) or pbkdf2 (PBKDF2-SHA256, 600000\n"
"                       iterations)\n"
"  --user NAME          print the YAML entry for this user (letters, digits, . _ - @)\n"
"  --role ROLE          viewer, moderator or admin (with --user)\n"
"  --password-file F    read the password from the first line of F\n");
}

/* One line (without the newline) into buf; 0, or -1 at end of input or when it is too long. */
static int read_line(FILE *f, char *buf, size_t cap) {
  if (!fgets(buf, (int)cap, f))
    return -1;
  size_t n = strlen(buf);
  if (n && buf[n - 1] == '\n')
    buf[--n] = '\0';
  else if (!feof(f))
    return -1; /* longer than cap */
  if (n && buf[n - 1] == '\r')
    buf[--n] = '\0';
  return 0;
}

static int prompt(const char *what, char *buf, size_t cap) {
  struct termios old, quiet;
  fprintf(stderr, "%s", what);
  fflush(stderr);
  if (tcgetattr(STDIN_FILENO, &old))
    return -1;
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)ECHO;
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  int rc = read_line(stdin, buf, cap);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  fputc('\n', stderr);
  return rc;
}

static int valid_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= WD_SESSION_USER_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9') || strchr("._-@", s[i])))
      return 0;
  return 1;
}

int cmd_passwd(int argc, char **argv) {
  enum { O_KDF = 256, O_USER, O_ROLE, O_FILE, O_HELP };
  static const struct option opts[] = {{"kdf", required_argument, 0, O_KDF},
                                       {"user", required_argument, 0, O_USER},
                                       {"role", required_argument, 0, O_ROLE},
                                       {"password-file", required_argument, 0, O_FILE},
                                       {"help", no_argument, 0, O_HELP},
                                       {0, 0, 0, 0}};
  const char *user = NULL, *role = NULL, *file = NULL;
  wd_kdf_t kdf = WD_KDF_SCRYPT;
  optind = 1;
  opterr = 0;
  int ch;
  while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (ch) {
    case O_KDF:
      if (!strcmp(optarg, "scrypt"))
        kdf = WD_KDF_SCRYPT;
      else if (!strcmp(optarg, "pbkdf2"))
        kdf = WD_KDF_PBKDF2_SHA256;
      else {
        fprintf(stderr, "warden passwd: --kdf '%s' (expected scrypt or pbkdf2)\n", optarg);
        return WD_EXIT_USAGE;
      }
      break;
    case O_USER: user = optarg; break;
    case O_ROLE: role = optarg; break;
    case O_FILE: file = optarg; break;
    case O_HELP:
    case 'h': passwd_usage(stdout); return WD_EXIT_OK;
    default:
      fprintf(stderr, "warden passwd: unknown or incomplete option '%s' (see 'warden passwd "
                      "--help')\n", argv[optind - 1]);
      return WD_EXIT_USAGE;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "warden passwd: unexpected argument '%s' (the password is read, never "
                    "given on the command line)\n", argv[optind]);
    return WD_EXIT_USAGE;
  }
  wd_role_t r;
  if (!!user != !!role) {
    fprintf(stderr, "warden passwd: give --user and --role together\n");
    return WD_EXIT_USAGE;
  }
  if (user && !valid_name(user)) {
    fprintf(stderr, "warden passwd: user name '%s' must be 1 to 63 letters, digits, '.', '_', "
                    "'-' or '@'\n", user);
    return WD_EXIT_USAGE;
  }
  if (role && wd_role_parse(role, &r)) {
    fprintf(stderr, "warden passwd: unknown role '%s' (expected viewer, moderator or admin)\n",
            role);
    return WD_EXIT_USAGE;
  }

  char pw[WD_PASSWORD_MAX + 2], again[WD_PASSWORD_MAX + 2];
  int rc = -1;
  if (file) {
    FILE *f = fopen(file, "r");
    if (!f) {
      fprintf(stderr, "warden passwd: cannot read %s: %s\n", file, strerror(errno));
      return WD_EXIT_USAGE;
    }
    rc = read_line(f, pw, sizeof pw);
    fclose(f);
  } else if (isatty(STDIN_FILENO)) {
    rc = prompt("password: ", pw, sizeof pw);
    if (!rc && prompt("again: ", again, sizeof again) == 0 && strcmp(pw, again)) {
      OPENSSL_cleanse(pw, sizeof pw);
      OPENSSL_cleanse(again, sizeof again);
      fprintf(stderr, "warden passwd: the two entries differ\n");
      return WD_EXIT_USAGE;
    }
    OPENSSL_cleanse(again, sizeof again);
  } else {
    rc = read_line(stdin, pw, sizeof pw);
  }
  size_t n = rc ? 0 : strlen(pw);
  if (rc || n == 0 || n > WD_PASSWORD_MAX) {
    OPENSSL_cleanse(pw, sizeof pw);
    fprintf(stderr, "warden passwd: no password read (give 1 to %d bytes on one line)\n",
            WD_PASSWORD_MAX);
    return WD_EXIT_USAGE;
  }
  wd_password_params_t p;
  wd_password_params_default(kdf, &p);
  char hash[WD_PASSWORD_HASH_MAX];
  rc = wd_password_hash(pw, n, &p, hash, sizeof hash);
  OPENSSL_cleanse(pw, sizeof pw);
  if (rc) {
    fprintf(stderr, "warden passwd: cannot hash: %s\n", wd_strerror(rc));
    return WD_EXIT_FAIL;
  }
  if (user)
    printf("- {name: %s, role: %s, password_hash: \"%s\"}\n", user, wd_role_name(r), hash);
  else
    printf("%s\n", hash);
  return WD_EXIT_OK;
}
