/*
 * modules.c — the table of runtime modules, in one place (as mruby's generated gem_init.c lists
 * each gem's initialiser). rt_new runs each module's init in this order, and rt_finish and
 * rt_free its other functions in the same order (struct rt_module, rt.h).
 *
 * Adding a module (UDP, TLS, HTTP...): write its file (say net/udp.c) ending with
 *     const struct rt_module rt_module_udp = {.name = "udp", .init = udp_init};
 * and add X(udp) below; its Ruby half, if any, goes in runtime/prelude/.
 *
 * The order is the one rt_new and rt_free followed before the table existed. Keep the
 * Profiler last: it installs the hooks once the other modules are set up, and at exit stops a
 * profile still running only after Deferred's pool is gone.
 */
#include "runtime/rt.h"

#define RT_MODULES(X)                                                                              \
    X(kernel)                                                                                      \
    X(core)                                                                                        \
    X(timers)                                                                                      \
    X(net)                                                                                         \
    X(dgram)                                                                                       \
    X(http)                                                                                        \
    X(tls)                                                                                         \
    X(json)                                                                                        \
    X(crypto)                                                                                      \
    X(deferred)                                                                                    \
    X(process)                                                                                     \
    X(loophealth)                                                                                  \
    X(child)                                                                                       \
    X(fs)                                                                                          \
    X(regexp)                                                                                      \
    X(worker)                                                                                      \
    X(cluster)                                                                                     \
    X(attach)                                                                                      \
    X(profiling)

#define DECLARE(m) extern const struct rt_module rt_module_##m;
RT_MODULES(DECLARE)
#undef DECLARE

#define ROW(m) &rt_module_##m,
const struct rt_module *const rt_modules[] = {RT_MODULES(ROW) NULL};
#undef ROW
