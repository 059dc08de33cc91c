/*
 * fw.c: a machine's firewall, from its service.  Inbound is dropped but
 * for replies, loopback, monitoring, and each Service Interface: open to
 * all when public, else only to the machines of the services (and the
 * machines with packages) that connect to it.  The result is an nftables
 * ruleset of the shape rem-megavisor(7) gives for the firewall function.
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

static int
addr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Addresses of the live machines in m, one each, sorted, by family. */
static void
addr_sets(struct member *m, int n, struct buf *v4, struct buf *v6, int *c4,
	  int *c6, struct buf *bad)
{
	char **a = xcalloc((size_t)n + 1, sizeof *a);
	int na = 0;
	for (int i = 0; i < n; i++)
		if (member_live(&m[i]))
			a[na++] = m[i].address;
	qsort(a, (size_t)na, sizeof *a, addr_cmp);
	*c4 = *c6 = 0;
	for (int i = 0; i < na; i++) {
		if (i && !strcmp(a[i], a[i - 1]))
			continue;
		unsigned char bin[16];
		if (inet_pton(AF_INET, a[i], bin) == 1)
			buf_printf(v4, "%s%s", (*c4)++ ? ", " : "", a[i]);
		else if (inet_pton(AF_INET6, a[i], bin) == 1)
			buf_printf(v6, "%s%s", (*c6)++ ? ", " : "", a[i]);
		else
			buf_printf(bad, "%s%s", bad->len ? ", " : "", a[i]);
	}
	free(a);
}

int
fw_ruleset(struct rem *rm, const char *site, const char *machine, struct buf *out)
{
	struct entry e;
	if (index_get(rm, site, "machine", machine, &e) != 1) {
		warnx("machine/%s: no such machine", machine);
		return EX_REM_USAGE;
	}
	struct ref r;
	const struct service *s = NULL;
	if (entry_ref(&e, "service", "service", &r)) {
		s = svc_get(rm, site, r.name);
		if (!s) {
			warnx("machine/%s: service/%s: no such service", machine, r.name);
			entry_free(&e);
			return EX_REM_USAGE;
		}
	}
	entry_free(&e);
	buf_reset(out);
	buf_adds(out, "table inet rem\n"
		      "delete table inet rem\n");
	buf_printf(out, "# machine/%s: %s\n", machine,
		   s ? "made by rem-fw from its service" : "no service: locked down");
	buf_adds(out, "table inet rem {\n"
		      "\tset monitor_addr { type ipv4_addr; flags interval; auto-merge; }\n"
		      "\tset monitor_tcp { type inet_service; flags interval; auto-merge; }\n"
		      "\tchain input {\n"
		      "\t\ttype filter hook input priority filter; policy drop;\n"
		      "\t\tct state established,related accept\n"
		      "\t\tct state invalid drop\n"
		      "\t\tiif \"lo\" accept\n"
		      "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
		      "nd-router-advert, packet-too-big, mld-listener-query } accept\n"
		      "\t\tip saddr @monitor_addr icmp type echo-request accept\n"
		      "\t\tip saddr @monitor_addr tcp dport @monitor_tcp accept\n");
	for (int i = 0; s && i < s->nifaces; i++) {
		const struct svc_iface *f = &s->ifaces[i];
		const char *proto;
		int port = svc_iface_port(rm, site, f, &proto);
		if (port <= 0) {
			buf_printf(out, "\t\t# %s: no port\n", f->name);
			continue;
		}
		if (f->public) {
			buf_printf(out, "\t\t%s dport %d accept comment \"%s public\"\n", proto, port,
				   f->name);
			continue;
		}
		/* monitoring probes the interfaces too */
		buf_printf(out, "\t\tip saddr @monitor_addr %s dport %d accept\n", proto, port);
		struct member *m = NULL;
		int n = 0;
		char **cl = svc_clients(rm, site, s->name, 1);
		for (int k = 0; cl[k]; k++) {
			const struct service *c = svc_get(rm, site, cl[k]);
			int to_this = 0;
			for (int j = 0; c && j < c->nconns; j++)
				to_this |= !strcmp(c->conns[j].svc, s->name) &&
					   !strcmp(c->conns[j].iface, f->name);
			if (!to_this)
				continue;
			struct member *x;
			int nx = svc_members(rm, site, cl[k], 1, &x);
			m = xrealloc(m, (size_t)(n + nx + 1) * sizeof *m);
			if (nx)
				memcpy(m + n, x, (size_t)nx * sizeof *x);
			n += nx;
			free(x);
		}
		free_list(cl);
		/* packages that connect to the package interface mounted here */
		char **pc = pkg_clients(rm, site, f->pkg, f->iface);
		for (int k = 0; pc[k]; k++)
			pkg_members(rm, site, pc[k], &m, &n);
		free_list(pc);
		struct buf v4 = { 0 }, v6 = { 0 }, bad = { 0 };
		int c4, c6;
		addr_sets(m, n, &v4, &v6, &c4, &c6, &bad);
		if (bad.len) {
			/* a host name: nft takes addresses only; said, not hidden */
			warnx("machine/%s: %s: connecting addresses that are no IP addresses are left "
			      "out: %s", machine, f->name, bad.s);
			buf_printf(out, "\t\t# %s: left out, no IP addresses: %s\n", f->name, bad.s);
		}
		buf_free(&bad);
		if (!c4 && !c6)
			buf_printf(out, "\t\t# %s (%s/%d): no machine connects to it\n", f->name, proto,
				   port);
		if (c4)
			buf_printf(out, "\t\tip saddr { %s } %s dport %d accept comment \"%s\"\n", v4.s,
				   proto, port, f->name);
		if (c6)
			buf_printf(out, "\t\tip6 saddr { %s } %s dport %d accept comment \"%s\"\n", v6.s,
				   proto, port, f->name);
		buf_free(&v4);
		buf_free(&v6);
		members_free(m, n);
	}
	buf_adds(out, "\t}\n}\n");
	/* the site's collectors: config.monitor_from, addresses or networks */
	char *path = obj_path(rm, site, "site", site);
	struct buf t = { 0 };
	struct ydoc d;
	if (obj_load(path, &t, &d, 0, NULL) == 0 && !d.empty) {
		int l = ydoc_child(&d, ydoc_child(&d, 0, "config"), "monitor_from");
		struct buf el = { 0 };
		for (int i = l + 1; l >= 0 && i < d.len && d.n[i].depth > d.n[l].depth; i++) {
			if (d.n[i].parent != l || d.n[i].type != Y_SCALAR || !d.n[i].value)
				continue;
			const char *a = d.n[i].value;
			char host[64];
			unsigned char bin[16];
			snprintf(host, sizeof host, "%.*s", (int)strcspn(a, "/"), a);
			if (inet_pton(AF_INET, host, bin) == 1 &&
			    strspn(a, "0123456789./") == strlen(a))
				buf_printf(&el, "%s%s", el.len ? ", " : "", a);
			else
				warnx("%s: config.monitor_from: '%s' is no IPv4 address or network; left "
				      "out", rel_path(rm, path), a);
		}
		if (el.len)
			buf_printf(out, "add element inet rem monitor_addr { %s }\n", el.s);
		buf_free(&el);
	}
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	/* the machines that run this one's remote monitors (rem-collect(1)) */
	const struct monitor **mons;
	int nm = machine_monitors(rm, site, machine, &mons), want = 0;
	for (int i = 0; i < nm; i++)
		want |= mons[i]->where & (WHERE_NEAR | WHERE_FAR);
	free(mons);
	for (int w = WHERE_NEAR; w <= WHERE_FAR; w <<= 1) {
		const char *why;
		char *vm = want & w ? vantage_machine(rm, site, machine, w, &why) : NULL;
		struct mstate st = { 0 };
		unsigned char bin[16];
		if (vm && mstate_get(rm, site, vm, &st) == 1 && st.naddr &&
		    inet_pton(AF_INET, st.addr[0], bin) == 1)
			buf_printf(out, "add element inet rem monitor_addr { %s } # %s, its %s machine\n",
				   st.addr[0], vm, vantage_name(w));
		mstate_free(&st);
		free(vm);
	}
	return 0;
}

static char *
applied_path(struct rem *rm, const char *site, const char *machine)
{
	return xasprintf("%s/var/fw/%s/%s", rm->root, site, machine);
}

int
fw_apply(struct rem *rm, const char *site, const char *m, int force, int dry, struct buf *why)
{
	struct buf rules = { 0 }, old = { 0 };
	if (fw_ruleset(rm, site, m, &rules)) {
		buf_free(&rules);
		return FW_BAD;
	}
	int rc = FW_APPLIED;
	char sum[65];
	sha256_hex(rules.s, rules.len, sum);
	char *path = applied_path(rm, site, m);
	struct mjob j;
	if (!force && read_file(path, &old) == 0 && old.len >= 64 && !strncmp(old.s, sum, 64)) {
		rc = FW_UNCHANGED;
		goto done;
	}
	if (mjob_prepare(rm, site, m, 0, NULL, &j)) {
		rc = FW_BAD;
		goto done;
	}
	char *script;
	double tmo;
	if (!mjob_function(rm, site, &j, "firewall", &script, &tmo)) {
		buf_printf(why, "megavisor/%s has no function 'firewall': the ruleset cannot be "
				"applied (local machines share the host's network)", j.megavisor);
		mjob_free(&j);
		rc = FW_NONE;
		goto done;
	}
	if (dry)
		goto freejob;
	struct mstate ms;
	mstate_get(rm, site, m, &ms);
	const char *addr = j.address ? j.address : ms.naddr ? ms.addr[0] : NULL;
	struct run r = { .path = script, .timeout = tmo ? tmo : 60, .input = rules.s,
			 .ninput = rules.len };
	mjob_run(rm, site, &j, "firewall", addr, &r);
	if (r.status == 0) {
		char *dir = xasprintf("%s/var/fw/%s", rm->root, site);
		mkdir_p(dir, 0755);
		free(dir);
		char line[80];
		snprintf(line, sizeof line, "%s\n", sum);
		if (atomic_write(path, line, strlen(line), 0644) < 0)
			warn("%s", rel_path(rm, path));
	} else {
		size_t n = r.err.len;
		while (n && r.err.s[n - 1] == '\n')
			n--;
		buf_printf(why, "firewall: %s%.*s", r.timed_out ? "timed out; " : "", (int)n,
			   r.err.s ? r.err.s : "");
		rc = FW_FAILED;
	}
	run_free(&r);
	mstate_free(&ms);
freejob:
	free(script);
	mjob_free(&j);
done:
	free(path);
	buf_free(&rules);
	buf_free(&old);
	return rc;
}
