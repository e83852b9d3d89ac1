/*
 * test_rt.c — unit tests of the runtime core (runtime/rt.c, timers.c, kernel.c, the prelude),
 * driving a struct rt directly and reading results back from Ruby globals.
 */
#include <criterion/criterion.h>
#include <mruby.h>
#include <mruby/string.h>
#include <mruby/variable.h>

#include "runtime/rt.h"

static struct rt *rt;

static void
setup(void)
{
    rt = rt_new(0, NULL);
    cr_assert_not_null(rt);
}

static void
teardown(void)
{
    rt_free(rt);
}

/* Runs code as the main script and the loop, returns $out (a String) as C text. */
static const char *
run(const char *code)
{
    rt_run_main_string(rt, code, "test");
    rt_run_loop(rt);
    mrb_value out = mrb_gv_get(rt->mrb, mrb_intern_lit(rt->mrb, "$out"));
    return mrb_string_p(out) ? RSTRING_CSTR(rt->mrb, out) : "";
}

TestSuite(rt, .init = setup, .fini = teardown, .timeout = 30);

Test(rt, timers_fire_in_delay_order_after_immediates)
{
    /* Delays of 100 ms and more: a timer already due when the loop starts (a stall on a loaded
     * machine) runs before the immediates, and a stall between the two set_timeout calls moves
     * the second one later. */
    const char *out =
        run("$out = ''; set_timeout(200) { $out << '2' }; set_timeout(100) { $out << '1' };"
            "set_immediate { $out << '0' }");
    cr_assert_str_eq(out, "012");
    cr_assert_eq(rt->exit_code, 0);
}

Test(rt, interval_runs_until_cleared)
{
    const char *out = run("$out = ''; n = 0; t = set_interval(1) { n += 1; $out << n.to_s;"
                          " clear_interval(t) if n == 4 }");
    cr_assert_str_eq(out, "1234");
}

Test(rt, uncaught_exception_sets_status_1_and_stops_loop)
{
    const char *out =
        run("$out = ''; set_timeout(1) { raise 'x' }; set_timeout(30) { $out << 'late' }");
    cr_assert_str_eq(out, "");
    cr_assert_eq(rt->exit_code, 1);
    cr_assert(rt->exiting);
}

Test(rt, exit_sets_status_without_report)
{
    run("$out = ''; exit(9)");
    cr_assert_eq(rt->exit_code, 9);
}

Test(rt, syntax_error_sets_status_1)
{
    run("def (");
    cr_assert_eq(rt->exit_code, 1);
}

Test(rt, rooted_callbacks_survive_gc)
{
    const char *out = run("$out = ''; 50.times { |i| set_timeout(5) { $out << 'k' } }; GC.start;"
                          "set_timeout(1) { GC.start }");
    cr_assert_eq(strlen(out), 50);
}

Test(rt, roots_are_released_when_timers_finish)
{
    /* What the runtime roots for itself (the immediates queue, Deferred's task table) stays;
     * every timer's root is gone once it fired. */
    mrb_int before = mrb_integer(mrb_funcall(rt->mrb, rt->roots, "size", 0));
    run("$out = ''; 100.times { set_timeout(0) { } }");
    mrb_value n = mrb_funcall(rt->mrb, rt->roots, "size", 0);
    cr_assert_eq(mrb_integer(n), before);
    cr_assert_eq(before, 2);
}

Test(rt, event_emitter_once_and_off)
{
    const char *out =
        run("$out = ''; class E; include EventEmitter; end; e = E.new;"
            "e.once(:a) { $out << 'o' }; h = proc { $out << 'h' }; e.on(:a, h);"
            "e.emit(:a); e.off(:a, h); e.emit(:a); $out << e.listener_count(:a).to_s");
    cr_assert_str_eq(out, "oh0");
}

/* The module table (runtime/modules.c): every module once, each with its init or its vm_init
 * (a pure module such as json needs no loop), the Profiler last (it installs the hooks once the
 * others are set up). */
/* A Worker's runtime (runtime/worker.c) runs every module but the process-wide ones (a cluster
 * worker is a process: its channel and its processes are the main runtime's). */
Test(rt, main_only_modules_are_signals_the_cluster_and_the_profiler)
{
    struct rt main_rt = {0}, worker_rt = {.worker = &worker_rt};
    for (const struct rt_module *const *m = rt_modules; *m; m++) {
        bool main_only = strcmp((*m)->name, "process") == 0 || strcmp((*m)->name, "cluster") == 0 ||
                         strcmp((*m)->name, "attach") == 0 || strcmp((*m)->name, "profiling") == 0;
        cr_assert_eq((*m)->main_only, main_only, "module %s: main_only %d", (*m)->name,
                     (*m)->main_only);
        cr_assert(rt_module_enabled(&main_rt, *m));
        cr_assert_eq(rt_module_enabled(&worker_rt, *m), !main_only, "module %s", (*m)->name);
    }
}

Test(rt, module_table_lists_each_module_once)
{
    const char *want[] = {"kernel", "core",   "timers",   "net",     "dgram",      "http",  "tls",
                          "json",   "crypto", "deferred", "process", "loophealth", "child", "fs",
                          "regexp", "worker", "cluster",  "attach",  "profiling"};
    size_t n = 0;
    for (const struct rt_module *const *m = rt_modules; *m; m++, n++) {
        cr_assert_lt(n, sizeof want / sizeof *want);
        cr_assert_str_eq((*m)->name, want[n]);
        cr_assert((*m)->init || (*m)->vm_init, "module %s has neither init nor vm_init",
                  (*m)->name);
    }
    cr_assert_eq(n, sizeof want / sizeof *want);
}

/* The runtime reaches the profiler only through its hooks: the profiling module installs them,
 * and the main VM allocates through the hook's allocator from rt_new on. */
Test(rt, profiling_module_installs_the_hooks)
{
    cr_assert_not_null(rt->hooks.safe_point);
    cr_assert_not_null(rt->hooks.wait_begin);
    cr_assert_not_null(rt->hooks.wait_end);
    cr_assert_not_null(rt->hooks.vm_task_begin);
    cr_assert_not_null(rt->hooks.vm_task_end);
    cr_assert_not_null(rt->hooks.vm_close);
    cr_assert_not_null(rt->hooks.allocf);
    cr_assert(rt->mrb->allocf == rt->hooks.allocf);
}
