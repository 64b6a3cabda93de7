/*
 * Log lines in, normalised request records out: the reading layer of `warden analyze`, which
 * replays existing CDN logs through sharing detection.
 *
 * Formats (docs/analyze.md, "Log formats", says exactly what is read from each):
 *   nginx       the `combined` log format, with extensions appended after the user agent
 *               ("$http_x_forwarded_for", request times, upstream fields) tolerated; also the
 *               common log format (no referer, no user agent)
 *   cloudfront  CloudFront standard (access) logs: tab-separated, `#Version:` and `#Fields:`
 *               header lines, columns in the order `#Fields:` names them
 *   warden      Warden's own decision log (docs/decision-log.md), one JSON object a line
 * A parser made for WD_LOG_AUTO picks the format from the first line that is not blank:
 * `#Version`/`#Fields` -> cloudfront, `{` -> warden, anything else -> nginx.
 *
 * The library does no I/O: the caller reads lines (decompressing with zcat where needed) and
 * feeds them one at a time. Parsing never allocates: a parser owns one line buffer
 * (WD_LOG_LINE_MAX bytes) that the record's strings point into.
 *
 * Threads: a parser belongs to one thread at a time; parsers share nothing.
 */
#ifndef WARDEN_LOGS_H
#define WARDEN_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "warden/error.h"
#include "warden/keyring.h"

/* Longest line accepted, in bytes without its line ending. Longer lines are an error
 * (WD_ETOOBIG), never silently cut. */
#define WD_LOG_LINE_MAX 65536

/* wd_log_parse's answer for a line that holds no request: blank, or a CloudFront header or
 * comment (`#...`). Not an error: skip it. */
#define WD_LOG_SKIP 1

typedef enum wd_log_format {
  WD_LOG_AUTO = 0, /* detect from the first non-blank line */
  WD_LOG_NGINX,
  WD_LOG_CLOUDFRONT,
  WD_LOG_WARDEN,
} wd_log_format_t;

/*
 * One request, as far as the line tells it. Every string is NUL-terminated and never NULL: ""
 * when the format has no such field or the log says it is empty (`-`). Strings point into the
 * parser's buffer and stay valid until the next wd_log_parse or wd_log_parser_destroy on the
 * same parser.
 */
typedef struct wd_log_record {
  int64_t time_ms;        /* unix milliseconds, UTC (nginx: time zone offset applied) */
  const char *client_ip;  /* as logged: nginx $remote_addr, CloudFront c-ip, Warden ip */
  const char *method;     /* "GET" */
  const char *host;       /* CloudFront x-host-header (else cs(Host)), Warden host,
                             nginx only for absolute-form request targets */
  const char *path;       /* the request path as logged, without the query */
  const char *query;      /* the raw query (percent-encoding kept), without '?' */
  const char *protocol;   /* "HTTP/1.1" */
  int status;             /* HTTP status; 0 when absent */
  uint64_t bytes;         /* bytes sent to the client (nginx body, CloudFront sc-bytes) */
  const char *referer;    /* CloudFront: percent-decoded */
  const char *user_agent; /* CloudFront: percent-decoded */
  const char
      *forwarded_for;  /* nginx "$http_x_forwarded_for" extension, CloudFront x-forwarded-for */
  const char *cookie;  /* CloudFront cs(Cookie) (percent-decoded), when cookies are logged */
  const char *edge;    /* CloudFront x-edge-location, Warden edge */
  const char *country; /* Warden country, CloudFront c-country */
  uint32_t asn;        /* Warden asn, CloudFront asn; 0 when unknown */
  /* Warden decision log only */
  const char *scheme;   /* "cat", "jwt", ... */
  const char *token_id; /* the token's identity (docs/tokens.md) */
  const char *subject;
  const char *action;   /* what was done: allow, block, ... */
  const char *enforced; /* what automate mode does */
  const char *mode;     /* monitor, moderate, automate */
  const char *reasons;  /* the reasons joined by ',': "banned,shared" */
  const char *policy;
  const char *verdict; /* sharing detection's verdict when it ran: ok, suspect, shared */
} wd_log_record_t;

typedef struct wd_log_parser wd_log_parser_t;

/* A parser for one stream of lines in `format` (WD_LOG_AUTO: detected). Returns 0 and *out, or
 * WD_EINVAL (unknown format, NULL out) or WD_ENOMEM; *out untouched on failure. */
int wd_log_parser_create(wd_log_format_t format, wd_log_parser_t **out);

/* Release the parser and its buffer (records from it become invalid). NULL is a no-op. */
void wd_log_parser_destroy(wd_log_parser_t *p);

/*
 * Parse one line: len bytes (a trailing "\n" or "\r\n" is ignored). Returns
 *   0            *rec holds the request
 *   WD_LOG_SKIP  a blank line or a CloudFront header or comment (`#Fields:` lines set the
 *                columns of the lines after them); *rec is cleared
 *   WD_ETOOBIG   the line is longer than WD_LOG_LINE_MAX
 *   WD_EMALFORMED  the line does not parse: a bad time, a missing quote, a CloudFront line with
 *                the wrong number of columns, JSON that is not an object, a NUL byte, ...
 *   WD_EINVAL    NULL arguments
 * On an error *rec is cleared and wd_log_parser_error gives one line naming the column (1-based
 * byte offset) and the field; the parser stays usable, so the caller counts the line and goes on.
 */
int wd_log_parse(wd_log_parser_t *p, const char *line, size_t len, wd_log_record_t *rec);

/* The reason of the last error ("column 15 (time): expected [dd/Mon/yyyy:HH:MM:SS +hhmm]"), ""
 * after a success. Valid until the next call on the parser. */
const char *wd_log_parser_error(const wd_log_parser_t *p);

/* The parser's format: the one it was made for, or once detected, the detected one (WD_LOG_AUTO
 * until a non-blank line came). */
wd_log_format_t wd_log_parser_format(const wd_log_parser_t *p);

/* The format a first line suggests (the auto-detection rule); WD_LOG_AUTO for a blank line. */
wd_log_format_t wd_log_detect(const char *line, size_t len);

/* "auto", "nginx", "cloudfront", "warden"; parse takes those names (ASCII case-insensitive)
 * and returns 0, or WD_EINVAL with *out untouched. */
const char *wd_log_format_name(wd_log_format_t f);
int wd_log_format_parse(const char *name, wd_log_format_t *out);

/*
 * The token a record's request carried, as its identity for sharing analysis.
 *
 * With `param` (the CLI's --token-param NAME): the first query parameter of that name, else a
 * cookie of that name, percent-decoded; *scheme is guessed from the name and the value's shape
 * (WD_SCHEME_NONE when nothing fits).
 * Without (NULL or ""), the names each scheme uses, in this order:
 *   cat         query `cat`, `CAT`; cookie `CTA-Common-Access-Token`, `Common-Access-Token`
 *               (either case)
 *   akamai      query or cookie `__token__`, `hdnts`
 *   cloudfront  query `Signature` next to `Key-Pair-Id` and `Policy` or `Expires`; cookie
 *               `CloudFront-Signature` next to `CloudFront-Key-Pair-Id`: the signature
 *   securelink  query `md5` (nginx, Gcore): the md5 value alone, which already covers expires;
 *               `secure` (CDN77 `hash,expires`): the hash
 *   jwt, bunny  query `token` (a JWT when three dot-separated parts starting with 'e', the
 *               base64url of '{'; else bunny when `expires` is present, unknown otherwise),
 *               `jwt`, `access_token`; Bunny's path-based `/bcdn_token=T&.../`; cookie `token`
 * The first name present with a non-empty value that its rule accepts wins; query names come
 * before Bunny's path form, which comes before cookies.
 * A Warden decision-log record has no token, only its identity: token_id (and scheme) is
 * returned whatever `param` says.
 * Writes the NUL-terminated value into out (cap bytes) and returns 0; WD_ENOTOKEN when the
 * record carries none (or an empty one), WD_EMALFORMED when the value has a bad percent-escape
 * or decodes to a NUL byte, WD_ETOOBIG when it does not fit in cap, WD_EINVAL for NULL
 * arguments (a record's strings must not be NULL). *scheme (may be NULL) is set on success only.
 * Allocates nothing; about 50 ns for a typical query (bench/README.md).
 */
int wd_log_find_token(const wd_log_record_t *r, const char *param, char *out, size_t cap,
                      wd_scheme_t *scheme);

#endif
