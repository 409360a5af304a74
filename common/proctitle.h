/* Process titles visible in ps ("ezapi: worker 3"), by rewriting the argv
 * area in place. */
#ifndef EZ_PROCTITLE_H
#define EZ_PROCTITLE_H

/* Once, in main(), before anything reads argv again: moves environ out of
 * the way so the title may use its space. */
void ez_proctitle_init(int argc, char **argv);
extern char **ez_proctitle_env;
void ez_proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
