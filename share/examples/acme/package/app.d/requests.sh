#!/bin/sh
# A monitor script: the lines of the app's log so far (one per request), as
# `key value`; the RRD turns the count into requests per second.
printf 'requests %s\n' "$(cat log/app.log 2>/dev/null | wc -l)"
