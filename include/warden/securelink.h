/* md5 secure links: nginx secure_link_md5, Gcore-style ?md5=&expires=, CDN77 ?secure=. */
#ifndef WARDEN_SECURELINK_H
#define WARDEN_SECURELINK_H

typedef enum wd_securelink_style {
  WD_SECURELINK_NGINX = 0,     /* ?md5=TOKEN&expires=EXP, b64url md5 without padding */
  WD_SECURELINK_CDN77,         /* ?secure=TOKEN,EXP, base64 -_ with padding */
} wd_securelink_style_t;

typedef struct wd_securelink_opts {
  /* String to sign with $expires, $uri, $remote_addr, $secret; NULL: "$expires$uri $secret"
   * (Gcore plain). nginx docs: "$expires$uri$remote_addr $secret". A $uri of a directory scope
   * is signed with its trailing "/". */
  const char *template_str;
  wd_securelink_style_t style;
  const char *md5_param;       /* NULL: "md5" */
  const char *expires_param;   /* NULL: "expires" */
  int directory_scope;         /* sign the URI's directory (with trailing /) instead of the file */
} wd_securelink_opts_t;

#endif
