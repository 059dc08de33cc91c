#!/bin/sh
# t/bench/gensched.sh: helper of section n of t/bench/run.
#
#   gensched.sh MAIN JOBS BURST SECOND [SCHEDULE]
#
# MAIN is a site's folder (TREE/main).  Writes service/sb (production,
# every package below) and JOBS jobs in packages of 1,000, package/sb00,
# sb01 ...: jobs j000 ... j999, all `target: one` in UTC, each running
#
#   echo "$REM_INSTANT $(date +%s.%N) $REM_JOB_NAME" >>fired
#
# in the home of its machine (REM_INSTANT, when the script began, itself).
# The first BURST jobs (in order sb00.j000, sb00.j001 ...) fire together,
# at second SECOND of every minute ("SECOND * * * * *"); the others are
# spread evenly over the other 3,540 seconds of the hour, two or three a
# second, "S M * * * *".  Prints "burst SCHEDULE" and, for each of the
# spread jobs, "spread PACKAGE.JOB SECOND-OF-THE-HOUR".
#
# With SCHEDULE every job has that schedule instead ("@yearly": a daemon
# with nothing to do for months); the packages are written anew.
set -eu
[ $# = 4 ] || [ $# = 5 ] || { echo "usage: gensched.sh MAIN JOBS BURST SECOND [SCHEDULE]" >&2; exit 2; }
M=$1 NJ=$2 NB=$3 SEC=$4 ALL=${5-}
if [ "$NB" -gt "$NJ" ] || [ "$SEC" -lt 0 ] || [ "$SEC" -gt 59 ]; then
	echo "gensched.sh: BURST <= JOBS, SECOND 0-59" >&2
	exit 2
fi
mkdir -p "$M/package" "$M/service"
awk -v n="$NJ" -v nb="$NB" -v sec="$SEC" -v all="$ALL" -v m="$M" 'BEGIN {
	run = "echo \"$REM_INSTANT $(date +%s.%N) $REM_JOB_NAME\" >>fired"
	np = int((n + 999) / 1000)
	ns = n - nb
	svc = m "/service/sb.yaml"
	printf "version: 1\nstage: production\ndescription: the scheduler bench\npackages:\n" > svc
	for (p = 0; p < np; p++)
		printf "  - package/sb%02d\n", p > svc
	close(svc)
	burst = sec " * * * * *"
	print "burst", burst
	for (p = 0; p < np; p++) {
		f = sprintf("%s/package/sb%02d.yaml", m, p)
		printf "version: 1\ndescription: the scheduler bench, jobs %d to %d\njobs:\n", p * 1000, p * 1000 + 999 > f
		for (q = 0; q < 1000 && p * 1000 + q < n; q++) {
			g = p * 1000 + q
			if (all != "")
				s = all
			else if (g < nb)
				s = burst
			else {
				# the k-th spread job: slot k * 3540 / ns of the
				# seconds of the hour that are not the burst second
				slot = int((g - nb) * 3540 / ns)
				r = slot % 59
				h = int(slot / 59) * 60 + (r < sec ? r : r + 1)
				s = (h % 60) " " int(h / 60) " * * * *"
				printf "spread sb%02d.j%03d %d\n", p, q, h
			}
			printf "  j%03d: {run: '\''%s'\'', schedule: \"%s\", timezone: UTC}\n", q, run, s > f
		}
		close(f)
	}
}'
