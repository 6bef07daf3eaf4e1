#!/bin/sh
# Runs each Criterion test binary given as an argument from the repo root,
# then prints one closing line "tests: N passed, M failed" over all of them.
# Exits non-zero if any binary failed. FEDLEDGER_BIN names the folder of the
# programs under test (build/bin, or build/asan/bin under `make asan`).
set -u
passed=0
failed=0
status=0
for t in "$@"; do
	out=$("$t" --jobs 2 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^\[----\]' | grep -E 'FAIL|Synthesis|Assertion|CRASH|Warning|error' || true
	line=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -1)
	p=$(printf '%s' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	passed=$((passed + ${p:-0}))
	# Criterion's Failing count already includes crashed tests.
	failed=$((failed + ${f:-0}))
	# A leak is found when a test's worker process exits, after Criterion has
	# already counted the test as passed; only the sanitizer's report shows it.
	# Criterion's own runner leaks 48 bytes now and then when tests with a
	# .timeout run in parallel (and LeakSanitizer then sets the exit status):
	# a leak whose every frame past the allocator is in libcriterion is
	# Criterion's, not ours, and is only shown.
	ours=0
	if printf '%s\n' "$out" | grep -qE 'ERROR: AddressSanitizer|runtime error:' ||
		printf '%s\n' "$out" | awk '
			/^(Direct|Indirect) leak/ { if (open && ours) found = 1; open = 1; ours = 0; next }
			open && /^ *#[0-9]+ / {
				if ($1 != "#0" && $0 !~ /libcriterion\.so/) ours = 1
				next
			}
			open && /^$/ { if (ours) found = 1; open = 0 }
			END { if (open && ours) found = 1; exit found ? 0 : 1 }'; then
		ours=1
	fi
	criterion_leak=0
	if [ $ours -eq 0 ] && printf '%s\n' "$out" | grep -q 'ERROR: LeakSanitizer'; then
		criterion_leak=1
		echo "$t: a leak inside Criterion's runner only (not counted)"
	fi
	if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
		# Only Criterion's leak, every test passed: not a failure.
		if [ $criterion_leak -eq 0 ] || [ -z "$line" ] || [ "${f:-0}" -ne 0 ]; then
			status=1
			[ -z "$line" ] && { printf '%s\n' "$out" | tail -20; failed=$((failed + 1)); }
		fi
	fi
	if [ $ours -eq 1 ]; then
		printf '%s\n' "$out" | grep -E 'SUMMARY: |runtime error:' || true
		echo "$t: sanitizer report (see above)"
		status=1
		failed=$((failed + 1))
	fi
done
echo "tests: $passed passed, $failed failed"
exit $status
