/* Listening sockets of the `listen` setting, bound once by the supervisor
 * and inherited by the workers. A reload keeps the sockets whose address is
 * unchanged, so no connection is refused while workers are replaced. */
#ifndef EZ_LISTEN_H
#define EZ_LISTEN_H

#define EZ_MAX_LISTEN 16

struct ez_listener {
    char spec[300]; /* one entry of `listen`, e.g. "127.0.0.1:8080" */
    int fd;
};

struct ez_listen_set {
    struct ez_listener l[EZ_MAX_LISTEN];
    int n;
};

/* Builds `out` for the listen string: entries also in `keep` reuse its fd
 * (and are removed from keep, which then holds only sockets to close);
 * others are bound now. On failure nothing is left open and -1 is returned. */
int ez_listen_open(const char *listen, struct ez_listen_set *keep, struct ez_listen_set *out)
    __attribute__((warn_unused_result));
void ez_listen_close(struct ez_listen_set *set);

#endif
