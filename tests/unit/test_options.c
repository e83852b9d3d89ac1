/*
 * test_options.c — profiler/base/options.c: the table-driven option parser shared by every mrprof
 * command and mrun (forms of options, positionals, range checks, messages, --help).
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/base/options.h"

static const char *const modes[] = {"cpu", "wall", NULL};

struct vals {
    bool flag;
    unsigned long hz;
    int top, mode;
    double pct, alpha;
    const char *out, *token, *hz_opt, *live;
};

static int
live_cb(struct opt_state *st, const struct opt *o, const char *value)
{
    struct vals *v = o->dst;
    if (!value && st->i + 1 < st->argc && strncmp(st->argv[st->i + 1], "unix:", 5) == 0)
        value = st->argv[++st->i];
    v->live = value ? value : "default";
    return 0;
}

static struct vals v;
static const struct opt table[] = {
    {OPTION_FLAG("tree", 't', &v.flag, "a flag")},
    {OPTION_UINT("hz", 0, &v.hz, 1, 10000, "N", "sampling rate"), .given = &v.hz_opt},
    {OPTION_INT("top", 0, &v.top, 0, 1000000, "N", "rows")},
    {OPTION_ENUM("mode", 0, &v.mode, modes, "cpu or wall")},
    {OPTION_DOUBLE("threshold", 0, &v.pct, 0, 1000, "T", "percent"), .flags = OPTF_PERCENT},
    {OPTION_DOUBLE("alpha", 0, &v.alpha, 0, 1, "A", "level"),
     .flags = OPTF_MIN_EXCL | OPTF_MAX_EXCL},
    {OPTION_PATH("output", 'o', &v.out, "PATH", "the file\nsecond line")},
    {OPTION_STRING("token", 0, &v.token, "T", NULL)},
    {OPTION_CALLBACK("live", 0, live_cb, &v, "[ADDR]", "live"), .flags = OPTF_NO_VALUE},
    {0},
};
static const struct opt_cmd cmd = {
    "prog x", "usage: prog x [options] FILE\n", "About.\n", "Footer.\n", table, 0, 0};

/* Parses a space-separated command line (writable copies, as a real argv). */
static int
parse(const struct opt_cmd *c, const char *line, char ***out)
{
    static char buf[512];
    static char *argv[32];
    snprintf(buf, sizeof buf, "%s", line);
    int argc = 0;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
        argv[argc++] = strcmp(w, "''") == 0 ? w + 2 : w; /* '' is the empty word */
    argv[argc] = NULL;
    memset(&v, 0, sizeof v);
    *out = argv;
    return opt_parse(c, argc, argv);
}

Test(options, long_short_and_equals_forms)
{
    char **a;
    cr_assert_eq(parse(&cmd, "x --hz 100 -o p.json --mode=wall --top=5 -t", &a), 0);
    cr_assert_eq(v.hz, 100);
    cr_assert_str_eq(v.out, "p.json");
    cr_assert_eq(v.mode, 1);
    cr_assert_eq(v.top, 5);
    cr_assert(v.flag);
    cr_assert_str_eq(v.hz_opt, "--hz");
    cr_assert_eq(parse(&cmd, "x --hz=7", &a), 0);
    cr_assert_eq(v.hz, 7);
    cr_assert_str_eq(v.hz_opt, "--hz", "the option as written, cut at '='");
}

Test(options, positionals_in_order_and_double_dash)
{
    char **a;
    int n = parse(&cmd, "x a --tree b - -- --hz c", &a);
    cr_assert_eq(n, 5);
    cr_assert_str_eq(a[0], "a");
    cr_assert_str_eq(a[1], "b");
    cr_assert_str_eq(a[2], "-");
    cr_assert_str_eq(a[3], "--hz");
    cr_assert_str_eq(a[4], "c");
    cr_assert_null(a[5]);
    cr_assert(v.flag);
}

Test(options, stop_at_arg_keeps_the_script_arguments)
{
    struct opt_cmd c = cmd;
    c.flags = OPT_STOP_AT_ARG;
    char **a;
    int n = parse(&c, "x --hz 10 script.rb --tree -o y", &a);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(a[0], "script.rb");
    cr_assert_str_eq(a[1], "--tree");
    cr_assert_not(v.flag);
    cr_assert_null(v.out);
}

Test(options, then_args_and_arg_start_flags)
{
    static unsigned long runs;
    static const struct opt t[] = {
        {OPTION_UINT("runs", 0, &runs, 2, 1000, "N", "runs"), .flags = OPTF_THEN_ARGS},
        {OPTION_FLAG("tree", 0, &v.flag, "flag")},
        {.sname = 'e', .kind = OPT_FLAG, .flags = OPTF_ARG_START},
        {0},
    };
    struct opt_cmd c = {"p", "usage\n", NULL, NULL, t, 0, 0};
    char **a;
    cr_assert_eq(parse(&c, "x f --tree g", &a), 2, "before --runs, options follow files");
    cr_assert(v.flag);
    cr_assert_eq(parse(&c, "x --runs 3 s.rb --tree", &a), 2);
    cr_assert_eq(runs, 3);
    cr_assert_not(v.flag);
    cr_assert_eq(parse(&c, "x --tree -e puts 1", &a), 3);
    cr_assert_str_eq(a[0], "-e");
    cr_assert_str_eq(a[1], "puts");
}

Test(options, optional_value_callback)
{
    char **a;
    cr_assert_eq(parse(&cmd, "x --live s.rb", &a), 1);
    cr_assert_str_eq(v.live, "default");
    cr_assert_eq(parse(&cmd, "x --live unix:/s s.rb", &a), 1);
    cr_assert_str_eq(v.live, "unix:/s");
    cr_assert_eq(parse(&cmd, "x --live=tcp:1 s.rb", &a), 1);
    cr_assert_str_eq(v.live, "tcp:1");
}

Test(options, doubles_percent_and_exclusive_ranges)
{
    char **a;
    cr_assert_eq(parse(&cmd, "x --threshold 5% --alpha 0.05", &a), 0);
    cr_assert_float_eq(v.pct, 5.0, 1e-12);
    cr_assert_float_eq(v.alpha, 0.05, 1e-12);
    cr_assert_eq(parse(&cmd, "x --alpha 0", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --alpha 1", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --alpha nan", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --threshold 5%%", &a), OPT_ERROR);
}

Test(options, bad_whole_numbers_are_refused, .init = cr_redirect_stderr)
{
    char **a;
    const char *bad[] = {"0", "abc", "99999", "-1", "''", "+5", "1x", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[64];
        snprintf(line, sizeof line, "x --hz %s", bad[i]);
        cr_assert_eq(parse(&cmd, line, &a), OPT_ERROR, "--hz %s", bad[i]);
        cr_assert_null(v.hz_opt, "a refused value is not 'given'");
    }
    fflush(stderr);
    cr_assert_stderr_eq_str("prog x: --hz must be 1..10000, not '0'\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not 'abc'\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not '99999'\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not '-1'\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not ''\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not '+5'\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not '1x'\nTry 'prog x --help'.\n"
                            "prog x: --hz must be 1..10000, not '99999999999999999999999'\n"
                            "Try 'prog x --help'.\n");
}

Test(options, messages_of_one_shape, .init = cr_redirect_stderr)
{
    char **a;
    cr_assert_eq(parse(&cmd, "x --mode fast", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --frob", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x -z", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --hz", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --tree=1", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --output=", &a), OPT_ERROR);
    cr_assert_eq(parse(&cmd, "x --alpha 2", &a), OPT_ERROR);
    fflush(stderr);
    cr_assert_stderr_eq_str(
        "prog x: --mode must be cpu or wall, not 'fast'\nTry 'prog x --help'.\n"
        "prog x: unknown option '--frob'\nTry 'prog x --help'.\n"
        "prog x: unknown option '-z'\nTry 'prog x --help'.\n"
        "prog x: --hz needs a value (N: 1..10000)\nTry 'prog x --help'.\n"
        "prog x: --tree takes no value (not '1')\nTry 'prog x --help'.\n"
        "prog x: --output needs a value (PATH), not ''\nTry 'prog x --help'.\n"
        "prog x: --alpha must be over 0 and under 1, not '2'\nTry 'prog x --help'.\n");
}

Test(options, help_is_generated_from_the_table, .init = cr_redirect_stdout)
{
    char **a;
    cr_assert_eq(parse(&cmd, "x --hz 5 --help", &a), OPT_HELP);
    cr_assert_eq(parse(&cmd, "x -h", &a), OPT_HELP);
    fflush(stdout);
    const char *one = "usage: prog x [options] FILE\n"
                      "\n"
                      "About.\n"
                      "\n"
                      "  -t, --tree          a flag\n"
                      "  --hz N              sampling rate\n"
                      "  --top N             rows\n"
                      "  --mode cpu|wall     cpu or wall\n"
                      "  --threshold T       percent\n"
                      "  --alpha A           level\n"
                      "  -o, --output PATH   the file\n"
                      "                      second line\n"
                      "  --live [ADDR]       live\n"
                      "  -h, --help          print this help and exit\n"
                      "\n"
                      "Footer.\n";
    char both[2048];
    snprintf(both, sizeof both, "%s%s", one, one);
    cr_assert_stdout_eq_str(both);
}
