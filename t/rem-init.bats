#!/usr/bin/env bats
load helper

@test "rem-init makes a tree with a first site, a var folder and a .gitignore" {
	d="$T/new"
	run rem-init -R "$d" -S lab -d "the lab"
	assert_success
	assert_output "$d	lab"
	[ -f "$d/lab/site.yaml" ] && [ -f "$d/.gitignore" ]
	run rem-get -R "$d" site/lab description
	assert_output "the lab"
	run rem-check -R "$d"
	assert_success
}

@test "rem-init adds a second site; commands then need -S" {
	rem-init -S second >/dev/null
	run rem-ls location
	assert_failure 2
	assert_output --partial "several sites (main, second)"
	run rem-ls -S second site
	assert_output $'site/main\nsite/second'
	REM_SITE=second rem-put location/x type=lab
	[ -f "$REM_ROOT/second/location/x.yaml" ]
}

@test "rem-init refuses an existing site and bad site names" {
	run rem-init
	assert_failure 2
	assert_output --partial "already exists"
	run rem-init -S ../x
	assert_failure 2
	run rem-init -S var
	assert_failure 2
}

@test "commands outside a tree say how to make one" {
	unset REM_ROOT
	run rem-ls
	assert_failure 2
	assert_output --partial "set REM_ROOT or give -R"
}

@test "rem-init keeps an existing .gitignore and adds var/ and secrets once" {
	d="$T/g"
	mkdir -p "$d"
	printf '*.swp' >"$d/.gitignore"
	rem-init -R "$d" >/dev/null
	rem-init -R "$d" -S other >/dev/null
	run cat "$d/.gitignore"
	assert_output $'*.swp\n# runtime data of REM: derived or append-only, never kept in git\n/var/\n# passwords and tokens (rem-contact(5)): never in git\n/secrets'
	# a tree from before secrets: only the missing line is added
	printf '/var/\n' >"$d/.gitignore"
	rem-init -R "$d" -S third >/dev/null
	run cat "$d/.gitignore"
	assert_output $'/var/\n# passwords and tokens (rem-contact(5)): never in git\n/secrets'
}
