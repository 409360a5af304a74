/* Tells systemd (Type=notify) where the supervisor stands: started, reloading,
 * stopping. A no-op when NOTIFY_SOCKET is unset or ezapi was built without
 * libsystemd; never fails the caller. */
#ifndef EZ_NOTIFY_H
#define EZ_NOTIFY_H

/* READY=1 with a STATUS= line: after start, and after a reload. */
void ez_notify_ready(const char *status);
/* RELOADING=1 (with MONOTONIC_USEC=, which newer systemd asks for). */
void ez_notify_reloading(void);
/* STOPPING=1. */
void ez_notify_stopping(void);

#endif
