/* See engines.h. Like the harness, never links server code. */
#include "engines.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int eng_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    ck_assert(fd >= 0);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    ck_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* In a child: PostgreSQL refuses to run as root. */
static void become_postgres(void)
{
    if (getuid() != 0)
        return;
    struct passwd *pw = getpwnam("postgres");
    if (!pw || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "cannot become the postgres user\n");
        _exit(127);
    }
}

void eng_give_to_postgres(const char *path)
{
    struct passwd *pw = getuid() == 0 ? getpwnam("postgres") : NULL;
    if (pw)
        ck_assert_msg(chown(path, pw->pw_uid, pw->pw_gid) == 0, "chown %s: %s", path,
                      strerror(errno));
}

pid_t eng_spawn(char *const argv[], const char *log, int as_postgres, int deathsig)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (as_postgres)
            become_postgres();
        prctl(PR_SET_PDEATHSIG, deathsig); /* after setuid, which clears it */
        if (getppid() != parent)
            _exit(127);
        setenv("LC_ALL", "C", 1);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int eng_run(char *const argv[], const char *log, int as_postgres)
{
    pid_t pid = eng_spawn(argv, log, as_postgres, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int eng_ezapi(struct ht_server *s, const char *sub, char **out)
{
    struct ht_cmd c;
    ht_ezapi(&c, sub, "-c", s->conf, NULL);
    int st = c.status;
    if (out) {
        size_t n = strlen(c.out) + strlen(c.err) + 2;
        *out = malloc(n);
        ck_assert(*out != NULL);
        snprintf(*out, n, "%s\n%s", c.out, c.err);
    }
    ht_cmd_free(&c);
    return st;
}

int eng_admin(struct ht_server *s, const char *method, const char *path, const char *json,
              json_t **out)
{
    struct ht_resp r;
    int st = ht_http(s->port, method, path, ht_auth(s, "admin"), json, json ? strlen(json) : 0, &r);
    if (out)
        *out = st > 0 ? ht_resp_json(&r) : NULL;
    ht_resp_free(&r);
    return st;
}
