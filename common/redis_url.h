/* The grammar of redis_url, parsed in one place: the config check and the
 * connection both call ez_redis_url_parse, so a URL that passes `ezapi -t`
 * is the URL that connects. Pure: no I/O, no logging. */
#ifndef EZ_REDIS_URL_H
#define EZ_REDIS_URL_H

#include <stddef.h>

/* Sized for the longest redis_url the config accepts (4096 bytes). */
#define EZ_REDIS_URL_HOSTS 16 /* Sentinels of a redis-sentinel:// URL */
#define EZ_REDIS_URL_HOST_MAX 256
#define EZ_REDIS_URL_PATH_MAX 108 /* sun_path */
#define EZ_REDIS_URL_CRED_MAX 4096
#define EZ_REDIS_URL_MASTER_MAX 128

/* EZ_REDIS_SENTINEL: hosts are Sentinels, asked for the master named
 * master. */
enum ez_redis_transport { EZ_REDIS_TCP, EZ_REDIS_UNIX, EZ_REDIS_SENTINEL };

struct ez_redis_host {
    char name[EZ_REDIS_URL_HOST_MAX]; /* without the brackets of an IPv6 address */
    int port;
};

/* user and password are percent-decoded; password_set tells an empty
 * password from none (AUTH is sent only with a password; with a user,
 * as AUTH user password). */
struct ez_redis_url {
    enum ez_redis_transport transport;
    struct ez_redis_host hosts[EZ_REDIS_URL_HOSTS];
    int nhosts;
    char path[EZ_REDIS_URL_PATH_MAX]; /* EZ_REDIS_UNIX */
    char master[EZ_REDIS_URL_MASTER_MAX]; /* EZ_REDIS_SENTINEL */
    char user[EZ_REDIS_URL_CRED_MAX];
    char password[EZ_REDIS_URL_CRED_MAX];
    int password_set;
    int db;
};

/* Parses
 *   redis://[[user]:password@]host[:port][/db]
 *   unix://[[user]:password@]/absolute/path[?db=N]
 *   redis-sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
 * (Sentinel ports default to 26379; the credentials are the master's.)
 * Userinfo runs to the last '@', so a password may hold '@', ':' and '/'
 * unencoded; '%' starts a %XX escape in userinfo and in the socket path.
 * On failure returns -1 and writes why, which never quotes the URL (it may
 * hold a password). out is wiped by ez_redis_url_wipe. */
int ez_redis_url_parse(const char *url, struct ez_redis_url *out, char *why, size_t whylen)
    __attribute__((warn_unused_result));
/* Zeroes the credentials of u. */
void ez_redis_url_wipe(struct ez_redis_url *u);
/* url with its password replaced by "********", for display (ezapi -T). */
void ez_redis_url_mask(const char *url, char *buf, size_t len);

#endif
