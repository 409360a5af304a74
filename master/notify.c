/* systemd readiness notifications through libsystemd's sd_notify(), which
 * reads NOTIFY_SOCKET itself. Only the supervisor calls these: systemd
 * accepts notifications from the main process alone (NotifyAccess=main). */
#include "notify.h"

#include <stdio.h>
#include <time.h>

#include "log.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

static void send_state(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0)
        log_warn("sd_notify(\"%s\") failed: error %d", state, -rc);
}
#else
static void send_state(const char *state)
{
    (void)state;
}
#endif

void ez_notify_ready(const char *status)
{
    char msg[256];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    send_state(msg);
}

void ez_notify_reloading(void)
{
    struct timespec ts;
    char msg[96];
    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    send_state(msg);
}

void ez_notify_stopping(void)
{
    send_state("STOPPING=1\nSTATUS=stopping");
}
