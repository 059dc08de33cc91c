/*
 * rem-svc: services: list and show them, their dependency graph, which
 * machine serves which, deploying machines (packages, configuration,
 * firewall, start; then what the change means for the services around
 * them), new versions and promotion between stages.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                                   \
	"rem-svc [-R root] [-S site] command ...\n"                                 \
	"  ls\n"                                                                    \
	"  show service\n"                                                          \
	"  deps [-d] [service ...]\n"                                               \
	"  assign [-f] machine service|-\n"                                         \
	"  deploy [-aP0] [-j jobs] [-s service] [machine ...]\n"                    \
	"  version service [new-name]\n"                                            \
	"  promote service [stage]"

static const struct service *
need_svc(struct rem *rm, const char *arg, char *name, size_t sz)
{
	const char *why = kind_arg(arg, "service", name, sz);
	if (why) {
		warnx("%s: %s", arg, why);
		return NULL;
	}
	const struct service *s = svc_get(rm, rm->site, name);
	if (!s)
		warnx("service/%s: no such service", name);
	return s;
}

static int
live_count(struct rem *rm, const char *svc, int *total)
{
	struct member *m;
	int n = svc_members(rm, rm->site, svc, 1, &m), live = 0;
	for (int i = 0; i < n; i++)
		live += !strcmp(m[i].state, "running");
	members_free(m, n);
	*total = n;
	return live;
}

/* ---- ls, show, deps ---- */

static int
cmd_ls(struct rem *rm, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		usage_exit(USAGE);
	int n, rc = 0;
	char **names = list_names(rm, rm->site, "service", &n);
	for (int i = 0; i < n; i++) {
		const struct service *s = svc_get(rm, rm->site, names[i]);
		if (!s) {
			warnx("service/%s: cannot be read (rem-check)", names[i]);
			rc = EX_REM_FAIL;
			continue;
		}
		int total, live = live_count(rm, s->name, &total);
		struct buf f = { 0 };
		for (int k = 0; k < s->nifaces; k++) {
			const char *proto;
			int port = svc_iface_port(rm, rm->site, &s->ifaces[k], &proto);
			buf_printf(&f, "%s%s=%s/%d", f.len ? "," : "", s->ifaces[k].name, proto, port);
		}
		printf("service/%s\tv%d\t%s\t%d/%d running\t%s\n", s->name, s->version, s->stage, live,
		       total, f.len ? f.s : "-");
		buf_free(&f);
	}
	free_list(names);
	return rc;
}

static int
cmd_show(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1];
	const struct service *s = need_svc(rm, argv[1], name, sizeof name);
	if (!s)
		return EX_REM_USAGE;
	printf("service/%s\n", s->name);
	printf("version\t%d\n", s->version);
	if (s->parent)
		printf("parent\tservice/%s\n", s->parent);
	printf("stage\t%s\n", s->stage);
	for (int i = 0; i < s->npackages; i++)
		printf("package\tpackage/%s\n", s->packages[i]);
	char **cl = svc_clients(rm, rm->site, s->name, 1);
	for (int i = 0; i < s->nifaces; i++) {
		const struct svc_iface *f = &s->ifaces[i];
		const char *proto;
		int port = svc_iface_port(rm, rm->site, f, &proto);
		struct buf from = { 0 };
		if (f->public)
			buf_adds(&from, "public");
		for (int k = 0; cl[k] && !f->public; k++) {
			const struct service *c = svc_get(rm, rm->site, cl[k]);
			for (int j = 0; c && j < c->nconns; j++)
				if (!strcmp(c->conns[j].svc, s->name) && !strcmp(c->conns[j].iface, f->name))
					buf_printf(&from, "%sservice/%s", from.len ? "," : "from ", c->name);
		}
		char **pc = f->public ? NULL : pkg_clients(rm, rm->site, f->pkg, f->iface);
		for (int k = 0; pc && pc[k]; k++)
			buf_printf(&from, "%spackage/%s", from.len ? "," : "from ", pc[k]);
		free_list(pc);
		printf("interface\t%s\t%s/%d\tpackage/%s:%s\t%s\n", f->name, proto, port, f->pkg,
		       f->iface, from.len ? from.s : "closed: nothing connects");
		buf_free(&from);
	}
	free_list(cl);
	for (int i = 0; i < s->nconns; i++) {
		int total, live = live_count(rm, s->conns[i].svc, &total);
		printf("connection\t%s\tservice/%s:%s\t%d running\n", s->conns[i].name, s->conns[i].svc,
		       s->conns[i].iface, live);
	}
	struct member *m;
	int n = svc_members(rm, rm->site, s->name, 1, &m);
	for (int i = 0; i < n; i++)
		printf("machine\t%s\t%s\t%s\n", m[i].name, m[i].state,
		       m[i].address ? m[i].address : "-");
	members_free(m, n);
	return 0;
}

static int
cmd_deps(struct rem *rm, int argc, char **argv)
{
	int c, dot = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "+d")) != -1)
		switch (c) {
		case 'd': dot = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	char **names;
	int n;
	if (argc) {
		names = xcalloc((size_t)argc + 1, sizeof *names);
		for (n = 0; n < argc; n++) {
			char name[REM_NAME_MAX + 1];
			if (!need_svc(rm, argv[n], name, sizeof name)) {
				free_list(names);
				return EX_REM_USAGE;
			}
			names[n] = xstrdup(name);
		}
	} else
		names = list_names(rm, rm->site, "service", &n);
	if (dot)
		printf("digraph services {\n\trankdir=LR;\n\tnode [shape=box];\n");
	for (int i = 0; i < n; i++) {
		const struct service *s = svc_get(rm, rm->site, names[i]);
		if (!s)
			continue;
		if (dot)
			printf("\t\"%s\" [label=\"%s\\nv%d %s\"];\n", s->name, s->name, s->version,
			       s->stage);
		else if (!s->nconns)
			printf("%s %s\n", s->name, s->name); /* tsort: a service on its own */
		for (int k = 0; k < s->nconns; k++) {
			if (dot)
				printf("\t\"%s\" -> \"%s\" [label=\"%s:%s\"];\n", s->name,
				       s->conns[k].svc, s->conns[k].name, s->conns[k].iface);
			else
				printf("%s %s\n", s->name, s->conns[k].svc);
		}
	}
	if (dot)
		printf("}\n");
	free_list(names);
	return 0;
}

/* ---- assign ---- */

static int
cmd_assign(struct rem *rm, int argc, char **argv)
{
	int c, force = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "+f")) != -1)
		switch (c) {
		case 'f': force = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc != 2)
		usage_exit(USAGE);
	char m[REM_NAME_MAX + 1], name[REM_NAME_MAX + 1];
	if (machine_arg(argv[0], m, sizeof m) < 0)
		return EX_REM_USAGE;
	struct entry e;
	if (index_get(rm, rm->site, "machine", m, &e) != 1) {
		warnx("machine/%s: no such machine", m);
		return EX_REM_USAGE;
	}
	struct ref cur;
	int has = entry_ref(&e, "service", "service", &cur);
	entry_free(&e);
	int unassign = !strcmp(argv[1], "-");
	if (!unassign && !need_svc(rm, argv[1], name, sizeof name))
		return EX_REM_USAGE;
	if (has && !unassign && !strcmp(cur.name, name)) {
		printf("machine/%s\tservice/%s\talready\n", m, name);
		return 0;
	}
	if (has && !force && !unassign) {
		warnx("machine/%s serves service/%s already: a machine serves one service (-f moves "
		      "it; deploy it again after)", m, cur.name);
		return EX_REM_USAGE;
	}
	if (rem_lock(rm) < 0)
		return EX_REM_FAIL;
	char *ref = unassign ? NULL : xasprintf("service/%s", name);
	int rc = obj_set(rm, rm->site, "machine", m, "service", ref);
	rem_unlock(rm);
	if (!rc)
		printf("machine/%s\t%s\n", m, ref ? ref : "no service");
	free(ref);
	return rc;
}

/* ---- deploy ---- */

struct dep {
	struct rem *rm;
	char **names;
};

static void
step(struct rem *rm, const char *m, const char *what, const char *how)
{
	char *obj = xasprintf("machine/%s", m);
	rem_log(rm, obj, "deploy", "%s: %s", what, how);
	free(obj);
	printf("%s\t%s\t%s\n", m, what, how);
	fflush(stdout);
}

static int
deploy_one(int i, void *arg)
{
	struct dep *d = arg;
	struct rem *rm = d->rm;
	const char *m = d->names[i];
	int lock = mjob_lock(rm, rm->site, m, 1);
	if (lock == -2) {
		warnx("machine/%s: busy: another rem command works on it", m);
		return EX_REM_FAIL;
	}
	struct onm o;
	int rc = onm_open(rm, rm->site, m, &o);
	if (rc)
		goto out;
	char *svc = NULL;
	char **pk = machine_packages(rm, rm->site, m, &svc);
	if (!svc)
		step(rm, m, "service", "none: packages of its platform only, locked down");
	/* 1: packages */
	for (int k = 0; pk[k] && !rc && !run_cancel; k++) {
		const struct package *p = pkg_get(rm, rm->site, pk[k]);
		int changed = 0;
		if (!p) {
			warnx("machine/%s: package/%s: no such package, or it does not pass rem-check", m, pk[k]);
			rc = EX_REM_USAGE;
		} else if (!(rc = pkg_install(&o, p, 0, &changed))) {
			char how[64];
			snprintf(how, sizeof how, changed ? "changed (%d steps)" : "unchanged", changed);
			char *what = xasprintf("install %s", p->name);
			step(rm, m, what, how);
			free(what);
		}
	}
	if (rc || run_cancel)
		goto done;
	/* 2: configuration */
	struct rctx *c = rctx_new(rm, rm->site);
	int nch;
	rc = render_machine(c, &o, RENDER_WRITE, &nch);
	rctx_free(c);
	if (rc)
		goto done;
	char how[64];
	snprintf(how, sizeof how, nch ? "%d files changed" : "unchanged", nch);
	step(rm, m, "render", how);
	/* 3: firewall */
	struct buf why = { 0 };
	int st = fw_apply(rm, rm->site, m, 0, 0, &why);
	if (st == FW_APPLIED || st == FW_UNCHANGED)
		step(rm, m, "firewall", st == FW_APPLIED ? "applied" : "unchanged");
	else if (st == FW_NONE)
		step(rm, m, "firewall", "not applied: its megavisor has no firewall function");
	else {
		warnx("machine/%s: %s", m, why.len ? why.s : "firewall failed");
		rc = EX_REM_FAIL;
	}
	buf_free(&why);
	if (rc)
		goto done;
	/* 4: start, in install order */
	for (int k = 0; pk[k] && !rc && !run_cancel; k++) {
		const struct package *p = pkg_get(rm, rm->site, pk[k]);
		if (!pkg_fn(p, "start"))
			continue;
		char *what = xasprintf("start %s", p->name);
		rc = pkg_function(&o, p, "start", NULL);
		step(rm, m, what, rc ? "failed" : "done");
		free(what);
	}
done:
	if (!rc && run_cancel)
		rc = 130;
	step(rm, m, "deploy", rc ? "failed" : "done");
	free_list(pk);
	free(svc);
	onm_close(&o);
out:
	if (lock >= 0)
		close(lock);
	return rc;
}

/* What deployed machines change around them: machines whose templates
 * list them render again (the clients of their service, and the
 * machines with packages that connect to an interface it mounts), and the
 * machines they connect to (through their service or their packages)
 * take them into their firewalls. */
static void
add_set(struct smap *set, struct member *m, int n, char **skip, int nskip)
{
	for (int i = 0; i < n; i++) {
		if (find_string(skip, (size_t)nskip, m[i].name))
			continue;
		void **slot = smap_slot(set, m[i].name);
		if (!*slot)
			*slot = xstrdup(m[i].state);
	}
	members_free(m, n);
}

static int
propagate(struct rem *rm, char **done, int ndone)
{
	struct smap rset = { 0 }, fset = { 0 };
	int rc = 0;
	sort_strings(done, (size_t)ndone);
	for (int i = 0; i < ndone; i++) {
		char *svc = NULL;
		char **pk = machine_packages(rm, rm->site, done[i], &svc);
		const struct service *s = svc ? svc_get(rm, rm->site, svc) : NULL;
		struct member *m = NULL;
		int n = 0;
		if (s) {
			char **cl = svc_clients(rm, rm->site, s->name, 1);
			for (int k = 0; cl[k]; k++) {
				m = NULL, n = 0;
				n = svc_members(rm, rm->site, cl[k], 1, &m);
				add_set(&rset, m, n, done, ndone);
			}
			free_list(cl);
			for (int k = 0; k < s->nifaces; k++) {
				char **pc = pkg_clients(rm, rm->site, s->ifaces[k].pkg, s->ifaces[k].iface);
				for (int j = 0; pc[j]; j++) {
					m = NULL, n = 0;
					pkg_members(rm, rm->site, pc[j], &m, &n);
					add_set(&rset, m, n, done, ndone);
				}
				free_list(pc);
			}
			for (int k = 0; k < s->nconns; k++) {
				m = NULL, n = 0;
				n = svc_members(rm, rm->site, s->conns[k].svc, 1, &m);
				add_set(&fset, m, n, done, ndone);
			}
		}
		for (int k = 0; pk[k]; k++) {
			const struct package *p = pkg_get(rm, rm->site, pk[k]);
			for (int j = 0; p && j < p->nconns; j++) {
				m = NULL, n = 0;
				pkg_iface_members(rm, rm->site, p->conns[j].pkg, p->conns[j].iface, &m, &n);
				add_set(&fset, m, n, done, ndone);
			}
		}
		free_list(pk);
		free(svc);
	}
	struct rctx *c = rctx_new(rm, rm->site);
	char **names = xcalloc(rset.n + 1, sizeof *names);
	size_t nn = 0;
	for (size_t i = 0; i < rset.cap; i++)
		if (rset.keys[i] && !strcmp(rset.vals[i], "running"))
			names[nn++] = rset.keys[i];
	sort_strings(names, nn);
	for (size_t i = 0; i < nn; i++) {
		int lock = mjob_lock(rm, rm->site, names[i], 1);
		struct onm o;
		int nch;
		if (lock == -2) {
			warnx("machine/%s: busy; not rendered again (rem-render it)", names[i]);
			rc = EX_REM_FAIL;
		}
		else if (onm_open(rm, rm->site, names[i], &o) == 0) {
			int st = render_machine(c, &o, RENDER_WRITE, &nch);
			if (st > rc)
				rc = st;
			onm_close(&o);
		}
		if (lock >= 0)
			close(lock);
	}
	nn = 0;
	free(names);
	names = xcalloc(fset.n + 1, sizeof *names);
	for (size_t i = 0; i < fset.cap; i++)
		if (fset.keys[i] && strcmp(fset.vals[i], "requested") &&
		    strcmp(fset.vals[i], "destroyed") && strcmp(fset.vals[i], "destroying"))
			names[nn++] = fset.keys[i];
	sort_strings(names, nn);
	for (size_t i = 0; i < nn; i++) {
		struct buf why = { 0 };
		int st = fw_apply(rm, rm->site, names[i], 0, 0, &why);
		if (st == FW_APPLIED)
			printf("%s\tfirewall\tapplied\n", names[i]);
		else if (st == FW_FAILED || st == FW_BAD) {
			warnx("machine/%s: %s", names[i], why.len ? why.s : "firewall");
			rc = EX_REM_FAIL;
		}
		buf_free(&why);
	}
	free(names);
	rctx_free(c);
	smap_free(&rset, free);
	smap_free(&fset, free);
	fflush(stdout);
	return rc;
}

static int
cmd_deploy(struct rem *rm, int argc, char **argv)
{
	int c, all = 0, nul = 0, jobs = 4, noprop = 0;
	const char *service = NULL;
	optind = 0;
	while ((c = getopt(argc, argv, "+aP0j:s:")) != -1)
		switch (c) {
		case 'a': all = 1; break;
		case '0': nul = 1; break;
		case 'P': noprop = 1; break;
		case 's': service = optarg; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return EX_REM_USAGE;
			break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	struct dep d = { .rm = rm };
	int n = 0, rc = 0;
	if (service) {
		char name[REM_NAME_MAX + 1];
		if (!need_svc(rm, service, name, sizeof name))
			return EX_REM_USAGE;
		struct member *m;
		int nm = svc_members(rm, rm->site, name, 1, &m);
		d.names = xcalloc((size_t)nm + (size_t)argc + 1, sizeof *d.names);
		for (int i = 0; i < nm; i++)
			d.names[n++] = xstrdup(m[i].name);
		members_free(m, nm);
		for (int i = 0; i < argc; i++) {
			char mn[REM_NAME_MAX + 1];
			int seen = 0;
			if (machine_arg(argv[i], mn, sizeof mn) < 0) {
				rc = EX_REM_USAGE;
				continue;
			}
			for (int k = 0; k < n; k++)
				seen |= !strcmp(d.names[k], mn);
			if (!seen)
				d.names[n++] = xstrdup(mn);
		}
		if (!n) {
			warnx("service/%s has no machines (rem-svc assign)", name);
			rc = EX_REM_USAGE;
		}
	} else
		rc = machines_args(rm, rm->site, argc, argv, all, nul, &d.names, &n);
	if (!rc)
		rc = machines_exist(rm, rm->site, d.names, n);
	if (!rc) {
		/* what the machines deployed change around them, also when
		 * others failed */
		int *st = xcalloc((size_t)n + 1, sizeof *st), ok = 0;
		rc = par_each_status(n, jobs, deploy_one, &d, st);
		char **done = xcalloc((size_t)n + 1, sizeof *done);
		for (int i = 0; i < n; i++)
			if (st[i] == 0)
				done[ok++] = d.names[i];
		if (ok && !noprop && !run_cancel) {
			int prc = propagate(rm, done, ok);
			if (prc > rc)
				rc = prc;
		}
		free(done);
		free(st);
	}
	free_list(d.names);
	return rc;
}

/* ---- version, promote ---- */

static int
copy_tree(const char *from, const char *to)
{
	pid_t p = fork();
	if (p == 0) {
		execlp("cp", "cp", "-a", "--", from, to, (char *)NULL);
		_exit(127);
	}
	int st;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
cmd_version(struct rem *rm, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1], nn[REM_NAME_MAX + 1];
	const struct service *s = need_svc(rm, argv[1], name, sizeof name);
	if (!s)
		return EX_REM_USAGE;
	/* the serial: one more than any version of the family, the services
	 * whose chain of parents reaches the same first version */
	int n, high = s->version;
	char **all = list_names(rm, rm->site, "service", &n);
	int rn, rep;
	char **mine = ref_chain(rm, rm->site, "service", name, "parent", &rn, &rep);
	const char *root = rn ? mine[rn - 1] : name;
	for (int i = 0; i < n; i++) {
		char **ch = ref_chain(rm, rm->site, "service", all[i], "parent", &rn, &rep);
		if (rn && !strcmp(ch[rn - 1], root)) {
			const struct service *o = svc_get(rm, rm->site, all[i]);
			if (o && o->version > high)
				high = o->version;
		}
		free_list(ch);
	}
	int ver = high + 1;
	if (argc == 3) {
		const char *why = kind_arg(argv[2], "service", nn, sizeof nn);
		if (why) {
			warnx("%s: %s", argv[2], why);
			free_list(all), free_list(mine);
			return EX_REM_USAGE;
		}
	} else {
		/* web -> web-v2; web-v2 -> web-v3 */
		size_t l = strlen(name);
		const char *v = strstr(name, "-v");
		while (v && strstr(v + 2, "-v"))
			v = strstr(v + 2, "-v");
		if (v && v[2] && strspn(v + 2, "0123456789") == strlen(v + 2))
			l = (size_t)(v - name);
		snprintf(nn, sizeof nn, "%.*s-v%d", (int)l, name, ver);
	}
	free_list(all);
	free_list(mine);
	if (index_get(rm, rm->site, "service", nn, NULL) == 1) {
		warnx("service/%s exists already", nn);
		return EX_REM_USAGE;
	}
	char *src = obj_path(rm, rm->site, "service", name);
	struct buf text = { 0 };
	char msg[256], num[32], *parent = xasprintf("service/%s", name);
	int rc = 0;
	snprintf(num, sizeof num, "%d", ver);
	if (read_file(src, &text) < 0) {
		warn("%s", rel_path(rm, src));
		rc = EX_REM_FAIL;
	} else if (yaml_edit(&text, "version", ED_SET_PLAIN, num, msg, sizeof msg) < 0 ||
		   yaml_edit(&text, "parent", ED_SET_PLAIN, parent, msg, sizeof msg) < 0 ||
		   yaml_edit(&text, "stage", ED_SET_PLAIN, "dev", msg, sizeof msg) < 0) {
		warnx("%s: %s", rel_path(rm, src), msg);
		rc = EX_REM_FAIL;
	}
	char *d1 = xasprintf("%s/%s/service/%s.d", rm->root, rm->site, name);
	char *d2 = xasprintf("%s/%s/service/%s.d", rm->root, rm->site, nn);
	struct stat st;
	if (!rc && rem_lock(rm) < 0)
		rc = EX_REM_FAIL;
	else if (!rc) {
		/* the folder first, so the new object never lacks its templates */
		if (stat(d1, &st) == 0 && S_ISDIR(st.st_mode) && stat(d2, &st) < 0 &&
		    copy_tree(d1, d2) < 0) {
			warnx("cannot copy %s to %s", rel_path(rm, d1), rel_path(rm, d2));
			rc = EX_REM_FAIL;
		}
		if (!rc && obj_store(rm, rm->site, kind_find("service"), nn, text.s, text.len))
			rc = EX_REM_USAGE;
		rem_unlock(rm);
	}
	if (!rc)
		printf("service/%s\tv%d\tparent service/%s\tdev\n", nn, ver, name);
	free(d1), free(d2), free(src), free(parent);
	buf_free(&text);
	return rc;
}

static int
cmd_promote(struct rem *rm, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		usage_exit(USAGE);
	return obj_promote(rm, rm->site, "service", argv[1], argc > 2 ? argv[2] : NULL);
}

int
main(int argc, char **argv)
{
	run_cancel_on_signals();
	static const struct subcmd subs[] = {
		{ "ls", cmd_ls },
		{ "show", cmd_show },
		{ "deps", cmd_deps },
		{ "assign", cmd_assign },
		{ "deploy", cmd_deploy },
		{ "version", cmd_version },
		{ "promote", cmd_promote },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
