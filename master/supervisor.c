/* Process table and main loop of the supervisor. Signals are blocked and
 * taken synchronously with sigtimedwait(), so no work happens in a signal
 * handler. Children are forked into slots of the shared segment; a child
 * that dies is respawned into its slot (at once, then after 1, 2, 4, 5 s;
 * the delay resets after 60 s of uptime), except when it exits with
 * EZ_EXIT_CONFIG. */
#include "supervisor.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "proctitle.h"
#include "queue.h"
#include "roles.h"
#include "shm.h"

#define HEARTBEAT_LIMIT_MS 60000
#define STABLE_UPTIME_MS 60000

enum proc_state { P_FREE = 0, P_RUNNING, P_RETIRING, P_WAITING /* respawn due */ };

struct proc {
    enum proc_state state;
    int role;
    int index;
    pid_t pid;
    uint32_t generation;
    int64_t started_ms;   /* monotonic */
    int64_t respawn_at;   /* monotonic, when P_WAITING */
    int crashes;          /* consecutive short-lived exits */
    int restart_on_exit;  /* syncer/logger being replaced by a reload */
};

static struct proc procs[EZ_MAX_SLOTS];
static struct ez_config *config;   /* in force */
static struct ez_listen_set listeners;
static uint32_t generation = 1;
static int stopping;
static int64_t stop_deadline;
/* systemd is told READY=1 once the start or a reload has settled. */
static const char *ready_pending;

/* The one place a slot changes state: the process table and the shared
 * segment, which the other processes read, always say the same. */
static void set_state(int slot, enum proc_state st)
{
    static const int shared[] = { [P_FREE] = EZ_SLOT_FREE, [P_RUNNING] = EZ_SLOT_RUNNING,
                                  [P_RETIRING] = EZ_SLOT_RETIRING,
                                  [P_WAITING] = EZ_SLOT_WAITING };
    procs[slot].state = st;
    atomic_store(&ez_shm_slot(slot)->state, shared[st]);
    if (st != P_RUNNING && st != P_RETIRING)
        atomic_store(&ez_shm_slot(slot)->pid, 0);
}

/* Signals the process in slot, if one runs there. */
static void signal_slot(int slot, int sig)
{
    pid_t pid = procs[slot].pid;
    if (pid <= 0 || (procs[slot].state != P_RUNNING && procs[slot].state != P_RETIRING))
        return;
    if (kill(pid, sig) != 0 && errno != ESRCH)
        log_error("kill(%d, %d) of slot %d failed: %s", (int)pid, sig, slot, strerror(errno));
}

static const char *role_name(int role)
{
    switch (role) {
    case EZ_ROLE_WORKER: return "worker";
    case EZ_ROLE_SYNCER: return "syncer";
    case EZ_ROLE_LOGGER: return "logger";
    default: return "supervisor";
    }
}

/* A role's CPU priority: its configured niceness added to the
 * supervisor's. Refused (a negative value without the privilege to lower
 * niceness): the role runs on at the supervisor's, and says so. */
static void set_priority(int role)
{
    long long add = role == EZ_ROLE_WORKER   ? config->worker_nice
                    : role == EZ_ROLE_SYNCER ? config->syncer_nice
                                             : config->logger_nice;
    if (add == 0)
        return;
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    if (base == -1 && errno != 0)
        return;
    long long want = base + add < -20 ? -20 : base + add > 19 ? 19 : base + add;
    if (setpriority(PRIO_PROCESS, 0, (int)want) != 0)
        log_warn("%s: niceness %lld refused (%s): running at %d", role_name(role), want,
                 strerror(errno), base);
}

static void child_run(int slot)
{
    struct proc *p = &procs[slot];
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0 ||
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
        log_error("child set-up failed (sigprocmask or prctl): %s", strerror(errno));
        _exit(1);
    }
    ez_metrics_init_self(slot);
    if (getppid() == 1)
        _exit(0);
    set_priority(p->role);
    int fds[EZ_MAX_LISTEN];
    for (int i = 0; i < listeners.n; i++)
        fds[i] = listeners.l[i].fd;
    struct ez_child c = { .cfg = config, .slot = slot, .index = p->index,
                          .listen_fds = fds, .nlisten = listeners.n };
    int rc;
    if (p->role == EZ_ROLE_WORKER) {
        rc = worker_main(&c);
    } else {
        for (int i = 0; i < listeners.n; i++)
            close(listeners.l[i].fd);
        rc = p->role == EZ_ROLE_SYNCER ? syncer_main(&c) : logger_main(&c);
    }
    _exit(rc);
}

static int spawn(int slot)
{
    struct proc *p = &procs[slot];
    struct ez_slot *s = ez_shm_slot(slot);
    atomic_store(&s->role, p->role);
    atomic_store(&s->index, p->index);
    atomic_store(&s->generation, p->generation);
    atomic_store(&s->start_time_ms, ez_now_ms());
    atomic_store(&s->heartbeat_ms, ez_mono_ms());
    atomic_store(&s->serving, 0);
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork() of %s failed: %s", role_name(p->role), strerror(errno));
        set_state(slot, P_WAITING);
        p->respawn_at = ez_mono_ms() + 1000;
        return -1;
    }
    if (pid == 0)
        child_run(slot);
    p->pid = pid;
    atomic_store(&s->pid, pid);
    set_state(slot, P_RUNNING);
    p->started_ms = ez_mono_ms();
    log_info("started %s %d (slot %d, pid %d, generation %u)", role_name(p->role), p->index,
             slot, (int)pid, p->generation);
    return 0;
}

static int free_worker_slot(void)
{
    for (int i = EZ_SLOT_FIRST_WORKER; i < EZ_MAX_SLOTS; i++)
        if (procs[i].state == P_FREE)
            return i;
    return -1;
}

static void start_workers(void)
{
    for (int n = 0; n < config->workers; n++) {
        int slot = free_worker_slot();
        if (slot < 0) {
            log_error("no free process slot for worker %d", n);
            return;
        }
        procs[slot] = (struct proc){ .role = EZ_ROLE_WORKER, .index = n, .generation = generation };
        if (spawn(slot) != 0)
            continue;
    }
}

static void signal_children(int role, uint32_t older_than, int sig)
{
    for (int i = 1; i < EZ_MAX_SLOTS; i++) {
        struct proc *p = &procs[i];
        if (p->state != P_RUNNING && p->state != P_RETIRING)
            continue;
        if (role && p->role != role)
            continue;
        if (older_than && p->generation >= older_than)
            continue;
        signal_slot(i, sig);
    }
}

static void retire_old_workers(uint32_t current)
{
    for (int i = EZ_SLOT_FIRST_WORKER; i < EZ_MAX_SLOTS; i++) {
        struct proc *p = &procs[i];
        if (p->role != EZ_ROLE_WORKER || p->generation >= current)
            continue;
        if (p->state == P_RUNNING) {
            set_state(i, P_RETIRING);
            signal_slot(i, SIGTERM);
        } else if (p->state == P_WAITING) {
            set_state(i, P_FREE); /* never respawn an old generation */
        }
    }
}

static void reload(void)
{
    struct ez_config *next = calloc(1, sizeof *next);
    char err[512];
    if (!next || ez_config_load(config->path, next, err, sizeof err) != 0) {
        log_error("reload refused, keeping the current config: %s", next ? err : "out of memory");
        free(next);
        atomic_fetch_add(&ez_shm_slot(EZ_SLOT_SUPERVISOR)->reloads_failed, 1);
        return;
    }
    char changed[512];
    ez_config_restart_keys_changed(config, next, changed, sizeof changed);
    if (changed[0]) {
        log_warn("reload: %s changed but needs a restart; keeping the old values", changed);
        if (ez_config_keep_restart_keys(next, config) != 0) {
            log_error("reload refused: out of memory");
            ez_config_free(next);
            free(next);
            return;
        }
    }
    struct ez_listen_set keep = listeners, fresh;
    if (ez_listen_open(next->listen, &keep, &fresh) != 0) {
        log_error("reload refused, keeping the current config: cannot listen on %s", next->listen);
        ez_config_free(next);
        free(next);
        atomic_fetch_add(&ez_shm_slot(EZ_SLOT_SUPERVISOR)->reloads_failed, 1);
        return;
    }
    atomic_fetch_add(&ez_shm_slot(EZ_SLOT_SUPERVISOR)->reloads_ok, 1);
    ez_log_setup("supervisor", next->log_level, next->log_format);
    /* Sockets dropped from `listen` stay open in the retiring workers only. */
    ez_listen_close(&keep);
    listeners = fresh;
    struct ez_config *old = config;
    config = next;
    generation++;
    atomic_store(&ez_shm->generation, generation);
    start_workers();
    retire_old_workers(generation);
    /* Syncer and logger are replaced one after the other: never two
     * consumers on one ring. */
    for (int i = EZ_SLOT_SYNCER; i <= EZ_SLOT_LOGGER; i++)
        if (procs[i].state == P_WAITING)
            procs[i].generation = generation;
        else if (procs[i].state == P_RUNNING) {
            procs[i].restart_on_exit = 1;
            signal_slot(i, SIGUSR1); /* hand over, without draining */
        }
    /* Children forked before hold their own copy of the old config. */
    ez_config_free(old);
    free(old);
    log_info("reloaded: generation %u, %lld workers, listen %s", generation,
             config->workers, config->listen);
}

/* A child that died on its own: counted in ezapi_child_restarts_total and
 * logged, with what happens next. */
static void count_crash(const struct proc *p, struct ez_slot *s, pid_t pid, int sig, int code,
                        const char *next)
{
    atomic_fetch_add(&s->restarts, 1);
    log_warn("%s %d (pid %d) died (%s %d)%s", role_name(p->role), p->index, (int)pid,
             sig ? "signal" : "exit code", sig ? sig : code, next);
}

static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int slot = -1;
        for (int i = 1; i < EZ_MAX_SLOTS; i++)
            if (procs[i].pid == pid && procs[i].state != P_FREE) {
                slot = i;
                break;
            }
        if (slot < 0)
            continue;
        struct proc *p = &procs[slot];
        struct ez_slot *s = ez_shm_slot(slot);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        if (p->state == P_RETIRING || stopping) {
            log_info("%s %d (pid %d) exited with %d", role_name(p->role), p->index, (int)pid, code);
            set_state(slot, P_FREE);
            continue;
        }
        if (p->restart_on_exit) {
            /* Replaced by a reload, but it may have died on its own before
             * it read the hand-over signal (a SIGHUP is taken before a
             * SIGCHLD that came first): that is still a crash. */
            if ((sig && sig != SIGUSR1) || (!sig && code != 0))
                count_crash(p, s, pid, sig, code, " while being replaced");
            p->restart_on_exit = 0;
            p->generation = generation;
            p->crashes = 0;
            spawn(slot);
            continue;
        }
        if (code == EZ_EXIT_CONFIG) {
            log_error("%s %d exited with the bad-config code %d: not respawned",
                      role_name(p->role), p->index, code);
            set_state(slot, P_FREE);
            continue;
        }
        int64_t now = ez_mono_ms();
        if (now - p->started_ms >= STABLE_UPTIME_MS)
            p->crashes = 0;
        int64_t delay = p->crashes == 0 ? 0 : 1000LL << (p->crashes - 1);
        if (delay > 5000)
            delay = 5000;
        p->crashes++;
        char next[48];
        snprintf(next, sizeof next, "; respawning in %lld ms", (long long)delay);
        count_crash(p, s, pid, sig, code, next);
        set_state(slot, P_WAITING);
        p->respawn_at = now + delay;
    }
}

static void tick(void)
{
    int64_t now = ez_mono_ms();
    for (int i = 1; i < EZ_MAX_SLOTS; i++) {
        struct proc *p = &procs[i];
        if (p->state == P_WAITING && now >= p->respawn_at && !stopping)
            spawn(i);
        /* A child that stopped beating is stuck: kill it, it is respawned. */
        if (p->state == P_RUNNING && !stopping &&
            now - atomic_load(&ez_shm_slot(i)->heartbeat_ms) > HEARTBEAT_LIMIT_MS) {
            log_error("%s %d (pid %d) stopped answering; killing it", role_name(p->role),
                      p->index, (int)p->pid);
            signal_slot(i, SIGKILL);
            atomic_store(&ez_shm_slot(i)->heartbeat_ms, now);
        }
    }
    atomic_store(&ez_shm_slot(EZ_SLOT_SUPERVISOR)->heartbeat_ms, now);
    ez_metrics_sample_process();
}

static int alive(int role)
{
    for (int i = 1; i < EZ_MAX_SLOTS; i++)
        if ((procs[i].state == P_RUNNING || procs[i].state == P_RETIRING) &&
            (!role || procs[i].role == role))
            return 1;
    return 0;
}

/* Every child serves: each worker has bound its listeners, the syncer and
 * the logger are in their loops, none waits to be respawned or to be
 * replaced by a reload, and at least one worker runs. */
static int all_serving(void)
{
    int workers = 0;
    for (int i = 1; i < EZ_MAX_SLOTS; i++) {
        struct proc *p = &procs[i];
        if (p->state == P_WAITING)
            return 0;
        if (p->state != P_RUNNING)
            continue;
        if (p->restart_on_exit || !atomic_load(&ez_shm_slot(i)->serving))
            return 0;
        workers += p->role == EZ_ROLE_WORKER;
    }
    return workers > 0;
}

static void notify_when_ready(void)
{
    if (!ready_pending || stopping || !all_serving())
        return;
    char status[128];
    snprintf(status, sizeof status, "%s: generation %u, %lld workers", ready_pending,
             generation, config->workers);
    ez_notify_ready(status);
    log_info("%s", status);
    ready_pending = NULL;
}

static void begin_stop(void)
{
    if (stopping)
        return;
    stopping = 1;
    ez_notify_stopping();
    log_info("stopping: waiting for in-flight requests");
    signal_children(EZ_ROLE_WORKER, 0, SIGTERM);
    stop_deadline = ez_mono_ms() + config->shutdown_timeout + 5000;
}

/* Stop order: workers first (they may still enqueue jobs), then the syncer
 * and the logger, which drain their queues before exiting. */
static int stop_step(void)
{
    int64_t now = ez_mono_ms();
    if (!alive(EZ_ROLE_WORKER)) {
        static int consumers_told;
        if (!consumers_told) {
            consumers_told = 1;
            signal_children(EZ_ROLE_SYNCER, 0, SIGTERM);
            signal_children(EZ_ROLE_LOGGER, 0, SIGTERM);
            stop_deadline = now + config->shutdown_timeout + 5000;
        }
    }
    if (!alive(0))
        return 1;
    if (now > stop_deadline) {
        log_error("children still running after the shutdown timeout: killing them");
        signal_children(0, 0, SIGKILL);
        stop_deadline = now + 5000;
    }
    return 0;
}

static void write_pid_file(void)
{
    if (!config->pid_file || !config->pid_file[0])
        return;
    FILE *f = fopen(config->pid_file, "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
        log_error("cannot write pid_file %s: %s", config->pid_file, strerror(errno));
}

int ez_supervisor_run(struct ez_config *cfg)
{
    config = cfg;
    ez_proctitle_set("ezapi: supervisor");
    if (ez_shm_create((uint64_t)cfg->sync_queue_capacity, (uint64_t)cfg->audit_queue_capacity) != 0 ||
        ez_queue_sockets_create() != 0)
        return 1;
    if (ez_listen_open(cfg->listen, NULL, &listeners) != 0)
        return 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        log_error("sigprocmask: %s", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    write_pid_file();
    ez_metrics_init_self(EZ_SLOT_SUPERVISOR);
    struct ez_slot *self = ez_shm_slot(EZ_SLOT_SUPERVISOR);
    atomic_store(&self->role, EZ_ROLE_SUPERVISOR);
    atomic_store(&self->pid, getpid());
    atomic_store(&self->start_time_ms, ez_now_ms());
    atomic_store(&self->state, EZ_SLOT_RUNNING);
    atomic_store(&ez_shm->generation, generation);
    procs[EZ_SLOT_SYNCER] = (struct proc){ .role = EZ_ROLE_SYNCER, .generation = generation };
    procs[EZ_SLOT_LOGGER] = (struct proc){ .role = EZ_ROLE_LOGGER, .generation = generation };
    spawn(EZ_SLOT_SYNCER);
    spawn(EZ_SLOT_LOGGER);
    start_workers();
    for (int i = 0; i < listeners.n; i++)
        log_info("listening on %s", listeners.l[i].spec);
    ready_pending = "serving";

    for (;;) {
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        siginfo_t info;
        int sig = sigtimedwait(&set, &info, &ts);
        if (sig == SIGCHLD)
            reap();
        else if (sig == SIGHUP && !stopping) {
            ez_notify_reloading();
            reload();
            ready_pending = "reload settled";
        }
        else if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
            begin_stop();
        reap(); /* SIGCHLD may coalesce: always collect */
        tick();
        notify_when_ready();
        if (stopping && stop_step())
            break;
    }
    if (config->pid_file && config->pid_file[0])
        unlink(config->pid_file);
    ez_listen_close(&listeners);
    for (int q = 0; q < EZ_Q_COUNT; q++)
        for (int e = 0; e < 2; e++)
            close(ez_queue_wake_fd[q][e]);
    ez_shm_destroy();
    log_info("stopped");
    ez_config_free(config);
    free(config);
    return 0;
}
