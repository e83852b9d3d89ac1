/*
 * pool.c — the main thread's side of the Deferred pool: creating it, starting the workers on
 * first use, taking finished tasks back when the async handle wakes the loop (every Ruby
 * callback runs on the main thread), registrations, and stopping and freeing it at exit.
 */
#include "runtime/deferred/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mruby/hash.h>

/* The main VM's GC counts objects too: see on_done (and collect_if_grown in worker.c). */
#define MAIN_GC_PAYLOAD ((size_t)64 << 20)

static int
default_pool_size(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* The pool's size: Deferred.pool_size=, else mrun --workers, else the number of cores. */
int
deferred__pool_wanted_size(const struct deferred_pool *pl)
{
    if (pl->nworkers)
        return pl->nworkers;
    if (pl->size)
        return pl->size;
    if (pl->rt->deferred_workers > 0)
        return pl->rt->deferred_workers > MAX_WORKERS ? MAX_WORKERS : pl->rt->deferred_workers;
    return default_pool_size();
}

/* Starts the worker threads on first use. */
void
deferred__pool_start(mrb_state *mrb, struct deferred_pool *pl)
{
    if (pl->nworkers > 0)
        return;
    pl->hooks = pl->rt->hooks;
    int n = deferred__pool_wanted_size(pl);
    if (n < 1 || n > MAX_WORKERS)
        n = 1;
    pl->workers = calloc((size_t)n, sizeof *pl->workers);
    if (!pl->workers)
        mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
    for (int i = 0; i < n; i++) {
        struct worker *w = &pl->workers[i];
        w->pool = pl;
        snprintf(w->name, sizeof w->name, "Deferred worker %d", i + 1);
        int err = pthread_create(&w->thread, NULL, deferred__worker_main, w);
        if (err) {
            if (i == 0)
                mrb_raisef(mrb, E_RUNTIME_ERROR, "cannot start a Deferred worker thread: %s",
                           strerror(err));
            break;
        }
        w->started = true;
        pl->nworkers = i + 1;
    }
}

static void
on_done(uv_async_t *h)
{
    struct deferred_pool *pl = h->data;
    struct rt *rt = pl->rt;
    mrb_state *mrb = rt->mrb;
    pthread_mutex_lock(&pl->mu);
    struct task *list = pl->done;
    pl->done = NULL;
    pl->done_tail = &pl->done;
    pthread_mutex_unlock(&pl->mu);
    mrb_sym settle = mrb_intern_lit(mrb, "__settle_remote");
    while (list) {
        struct task *t = list;
        list = t->next;
        /* The main VM's GC counts objects too: after MAIN_GC_PAYLOAD bytes of arguments and
         * results have crossed, collect in full before the next result arrives, so that big
         * payloads the script has dropped do not pile up (see collect_if_grown). */
        pl->payload_since_gc += t->args.len + t->result.len;
        if (pl->payload_since_gc > MAIN_GC_PAYLOAD && !rt->exiting) {
            mrb_full_gc(mrb);
            pl->payload_since_gc = t->result.len;
        }
        int ai = mrb_gc_arena_save(mrb);
        mrb_value id = mrb_int_value(mrb, t->id);
        mrb_value d = mrb_hash_delete_key(mrb, pl->tasks, id);
        if (--pl->pending == 0)
            uv_unref((uv_handle_t *)&pl->async);
        mrb_value argv[2] = {mrb_bool_value(t->ok), mrb_nil_value()};
        if (!mrb_nil_p(d) && !rt->exiting) {
            argv[1] = copy_decode(mrb, t->result.data, t->result.len);
            if (mrb->exc) { /* out of memory while decoding */
                argv[0] = mrb_false_value();
                argv[1] = mrb_nil_value();
                mrb->exc = NULL;
            }
            rt_call(rt, d, settle, 2, argv);
        }
        mrb_gc_arena_restore(mrb, ai);
        deferred__task_free(t);
    }
}

void
deferred__add_setup(struct deferred_pool *pl, enum setup_kind kind, const char *name,
                    struct copy_buf bytes)
{
    struct setup *s = calloc(1, sizeof *s);
    char *nm = strdup(name);
    if (!s || !nm) {
        free(s);
        free(nm);
        copy_buf_free(&bytes);
        return;
    }
    s->kind = kind;
    s->name = nm;
    s->bytes = bytes;
    pthread_mutex_lock(&pl->mu);
    *pl->setups_tail = s;
    pl->setups_tail = &s->next;
    pl->nsetups++;
    pthread_mutex_unlock(&pl->mu);
}

struct deferred_pool *
deferred__pool_new(struct rt *rt)
{
    mrb_state *mrb = rt->mrb;
    struct deferred_pool *pl = calloc(1, sizeof *pl);
    if (!pl) {
        fprintf(stderr, "mrun: out of memory\n");
        abort();
    }
    pl->rt = rt;
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->work, NULL);
    pl->queue_tail = &pl->queue;
    pl->done_tail = &pl->done;
    pl->setups_tail = &pl->setups;
    pl->tasks = mrb_hash_new(mrb);
    rt_root(rt, pl->tasks);
    uv_async_init(&rt->loop, &pl->async, on_done);
    pl->async.data = pl;
    uv_unref((uv_handle_t *)&pl->async);
    return pl;
}

/* Stops the workers (waiting for idle ones) and frees the tasks; the async handle is closed
 * afterwards with the loop's other handles, then deferred__pool_release frees the pool. */
void
deferred__pool_stop(struct rt *rt)
{
    struct deferred_pool *pl = rt->deferred;
    if (!pl)
        return;
    pthread_mutex_lock(&pl->mu);
    pl->stopping = true;
    pthread_cond_broadcast(&pl->work);
    for (int i = 0; i < pl->nworkers; i++)
        pl->abandoned |= pl->workers[i].busy;
    pthread_mutex_unlock(&pl->mu);
    if (pl->abandoned) {
        /* exit() while tasks run: a task cannot be interrupted, and the process is ending.
         * The pool stays to the threads still using it; they end with the process. */
        for (int i = 0; i < pl->nworkers; i++)
            pthread_detach(pl->workers[i].thread);
        return;
    }
    for (int i = 0; i < pl->nworkers; i++)
        if (pl->workers[i].started)
            pthread_join(pl->workers[i].thread, NULL);
    pl->nworkers = 0;
    while (pl->queue) {
        struct task *t = pl->queue;
        pl->queue = t->next;
        deferred__task_free(t);
    }
    while (pl->done) {
        struct task *t = pl->done;
        pl->done = t->next;
        deferred__task_free(t);
    }
    while (pl->setups) {
        struct setup *s = pl->setups;
        pl->setups = s->next;
        free(s->name);
        copy_buf_free(&s->bytes);
        free(s);
    }
    free(pl->workers);
    pl->workers = NULL;
}

void
deferred__pool_release(struct rt *rt)
{
    struct deferred_pool *pl = rt->deferred;
    rt->deferred = NULL;
    if (!pl || pl->abandoned)
        return;
    pthread_cond_destroy(&pl->work);
    pthread_mutex_destroy(&pl->mu);
    free(pl);
}
