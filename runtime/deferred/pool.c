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

#include <mruby/array.h>
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

/*
 * A task queued while a worker waited measures a round trip: from queueing to the loop taking
 * it back, less the block's own time, is the encoding of the arguments' (partly: it is timed
 * from the queueing), the worker's wake-up, decoding and loading, encoding the result, and the
 * loop's wake-up. A moving average (weight 1/8, from DEFAULT_ROUND_TRIP_NS) follows the
 * machine's load; Deferred.map compares an item's cost with it.
 */
static void
note_round_trip(struct deferred_pool *pl, const struct task *t, uint64_t now)
{
    if (!t->worker_was_idle || now < t->submit_ns + t->run_ns)
        return;
    uint64_t sample = now - t->submit_ns - t->run_ns;
    /* One sample counts at most twice the estimate: a loaded machine's occasional long
     * preemption should not make every map inline for the next dozen tasks. */
    if (sample > 2 * pl->round_trip_ns)
        sample = 2 * pl->round_trip_ns;
    pl->round_trip_ns = pl->round_trip_ns - pl->round_trip_ns / 8 + sample / 8;
    pl->nround_trips++;
}

static void
on_done(uv_async_t *h)
{
    struct deferred_pool *pl = h->data;
    struct rt *rt = pl->rt;
    mrb_state *mrb = rt->mrb;
    uint64_t now = deferred__now_ns();
    pthread_mutex_lock(&pl->mu);
    struct task *list = pl->done;
    pl->done = NULL;
    pl->done_tail = &pl->done;
    pthread_mutex_unlock(&pl->mu);
    mrb_sym settle = mrb_intern_lit(mrb, "__settle_remote");
    mrb_sym settle_chunk = mrb_intern_lit(mrb, "__settle_chunk");
    while (list) {
        struct task *t = list;
        list = t->next;
        pl->ndone++;
        note_round_trip(pl, t, now);
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
        mrb_value argv[5] = {mrb_int_value(mrb, t->id), mrb_bool_value(t->ok), mrb_nil_value(),
                             mrb_int_value(mrb, t->fail_index),
                             mrb_int_value(mrb, (mrb_int)t->run_ns)};
        if (!mrb_nil_p(d) && !rt->exiting) {
            argv[2] = copy_decode(mrb, t->result.data, t->result.len);
            if (mrb->exc) { /* out of memory while decoding */
                argv[1] = mrb_false_value();
                argv[2] = mrb_nil_value();
                mrb->exc = NULL;
            }
            if (t->kind == TASK_MAP)
                rt_call(rt, d, settle_chunk, 5, argv);
            else
                rt_call(rt, d, settle, 2, argv + 1);
        }
        mrb_gc_arena_restore(mrb, ai);
        deferred__task_free(t);
    }
}

mrb_int
deferred__submit(mrb_state *mrb, struct deferred_pool *pl, mrb_value receiver, enum task_kind kind,
                 struct copy_buf code, mrb_value args, mrb_int group)
{
    struct copy_buf enc = {0};
    struct mp_err err;
    enum copy_error rc = copy_encode(mrb, args, kind == TASK_MAP ? "items" : "args", &enc, &err);
    struct task *t = rc == COPY_OK ? calloc(1, sizeof *t) : NULL;
    if (!t) {
        copy_buf_free(&code);
        copy_buf_free(&enc);
        if (rc == COPY_OK)
            mrb_raise(mrb, mrb_class_get(mrb, "NoMemoryError"), "out of memory");
        mrb_raise(mrb, rc == COPY_CYCLE ? E_ARGUMENT_ERROR : E_TYPE_ERROR, err.msg);
    }
    t->args = enc;
    t->code = code;
    t->kind = kind;
    t->nitems = kind == TASK_MAP && mrb_array_p(args) ? RARRAY_LEN(args) : 1;
    t->fail_index = -1;
    deferred__pool_start(mrb, pl);
    t->id = ++pl->next_id;
    t->group = group ? group : t->id;
    mrb_hash_set(mrb, pl->tasks, mrb_int_value(mrb, t->id), receiver);
    if (pl->pending++ == 0)
        uv_ref((uv_handle_t *)&pl->async);
    pl->nsubmitted++;
    t->submit_ns = deferred__now_ns();
    pthread_mutex_lock(&pl->mu);
    t->worker_was_idle = (size_t)pl->nidle > pl->nqueued;
    *pl->queue_tail = t;
    pl->queue_tail = &t->next;
    pl->nqueued++;
    pthread_cond_signal(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    return t->id;
}

mrb_int
deferred__cancel_group(struct deferred_pool *pl, mrb_int group)
{
    struct task *removed = NULL;
    pthread_mutex_lock(&pl->mu);
    struct task **pp = &pl->queue;
    pl->queue_tail = &pl->queue;
    while (*pp) {
        struct task *t = *pp;
        if (t->group == group) {
            *pp = t->next;
            t->next = removed;
            removed = t;
            pl->nqueued--;
        } else {
            pl->queue_tail = &t->next;
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&pl->mu);
    mrb_state *mrb = pl->rt->mrb;
    mrb_int n = 0;
    while (removed) {
        struct task *t = removed;
        removed = t->next;
        mrb_hash_delete_key(mrb, pl->tasks, mrb_int_value(mrb, t->id));
        if (--pl->pending == 0)
            uv_unref((uv_handle_t *)&pl->async);
        pl->ncancelled++;
        n++;
        deferred__task_free(t);
    }
    return n;
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
    pl->round_trip_ns = DEFAULT_ROUND_TRIP_NS;
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
