#!/usr/bin/env bash
# End-to-end tests of the core methods mrun adds to Debian's mruby (runtime/prelude/vm/): each
# checked against what CRuby prints, in the main VM and in a Deferred worker's VM.
source "$(dirname "$0")/lib.sh"

t_sum_like_cruby() {
    run $MRUN -e 'p [1, 2, 3].sum, [1, 2].sum(10), [0.5, 1].sum, ["a", "b"].sum(""), (1..4).sum, {a: 1, b: 2}.sum { |k, v| v }, [].sum, [1, 2].sum { |x| x * 10 }'
    expect_rc 0; expect_out "$(printf '6\n13\n1.5\n"ab"\n10\n3\n0\n30')"
}

t_sum_of_strings_without_init_is_type_error() {
    run $MRUN -e 'begin; ["a"].sum; rescue TypeError => e; puts "TypeError"; end'
    expect_rc 0; expect_out "TypeError"
}

t_digits_like_cruby() {
    run $MRUN -e 'p 1234.digits, 255.digits(16), 0.digits; [[-1, 10], [5, 1], [5, -2]].each { |n, b| begin; n.digits(b); rescue => e; p e.class; end }'
    expect_rc 0; expect_out "$(printf '[4, 3, 2, 1]\n[15, 15]\n[0]\nMath::DomainError\nArgumentError\nArgumentError')"
}

t_core_methods_exist_in_deferred_workers() {
    run $MRUN -e 'Deferred.new { [[1, 2, 3].sum, 1234.digits, (1..3).sum] }.then { |v| p v }'
    expect_rc 0; expect_out "[6, [4, 3, 2, 1], 6]"
}

[ "${1:-}" = --lib ] || run_tests
