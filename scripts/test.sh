#!/usr/bin/env bash
# Sets up, builds and runs every qtc test (lit + GoogleTest, through ctest),
# then prints the counts of each suite. Exits non-zero if any test fails or
# if no test ran.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${QTC_BUILD_DIR:-$root/build}

start=$(date +%s)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
built=$(date +%s)

junit="$build/ctest-results.xml"
rm -f "$junit"
status=0
ctest --test-dir "$build" -j"$(nproc)" --output-on-failure --output-junit "$junit" || status=$?
end=$(date +%s)

python3 - "$junit" <<'PY' || status=1
import sys
import xml.etree.ElementTree as ET

suites = {}
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    name = case.get("name", "")
    suite = name.split("/", 1)[0] if "/" in name else "other"
    counts = suites.setdefault(suite, {"passed": 0, "failed": 0, "skipped": 0})
    status = case.get("status", "")
    if status == "run" and case.find("failure") is None:
        counts["passed"] += 1
    elif status in ("notrun", "disabled") or case.find("skipped") is not None:
        counts["skipped"] += 1
    else:
        counts["failed"] += 1
total = {"passed": 0, "failed": 0, "skipped": 0}
print()
for suite in sorted(suites):
    c = suites[suite]
    for k in total:
        total[k] += c[k]
    print(f"{suite}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
print(f"total: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
if total["passed"] == 0:
    print("error: no test ran", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if total["failed"] else 0)
PY
echo "time: setup+build $((built - start)) s, tests $((end - built)) s"
exit $status
