/*
 * t/bench/genhw.c: helper of t/bench/hw (plain C, no librem).
 *
 *   genhw SITEDIR RACKS   write a cabled data centre under SITEDIR: one
 *                         virtual utility feed and one core switch pair,
 *                         and per rack two PDUs, two top-of-rack switches,
 *                         one management switch and 36 servers.  Servers
 *                         have 20 ports; each is cabled to both PDUs, twice
 *                         to both switches, to the management switch and,
 *                         by four bidirectional SAS cables, to its
 *                         neighbour.
 *                         Prints "instances N", "ports N", "links N" and
 *                         names to query: "pdu", "server", "rack".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SERVERS 36

static FILE *
out(const char *dir, const char *kind, const char *name)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s/%s.yaml", dir, kind, name);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(1);
	}
	return f;
}

static void
mkdirs(const char *dir, const char *kind)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, kind);
	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(1);
	}
}

static const char sets[] =
	"--- bserver\n"
	"description: benchmark server, 20 ports\n"
	"components:\n"
	"  - {name: chassis, type: chassis, units: 1}\n"
	"  - {name: \"psu{n}\", count: 2, parent: chassis}\n"
	"ports:\n"
	"  - {name: \"power{n}\", count: 2, component: \"psu{n}\", media: c14, direction: consumer, resource: power-220, watts: 300}\n"
	"  - {name: \"eth{n}\", count: 4, start: 0, media: sfp+, direction: consumer, resource: network}\n"
	"  - {name: bmc, media: rj45, direction: consumer, resource: management}\n"
	"  - {name: \"sas{n}\", count: 8, media: sas, direction: bidirectional, resource: storage}\n"
	"  - {name: serial, media: db9, direction: bidirectional, resource: serial}\n"
	"  - {name: vga, media: vga, direction: provider, resource: video}\n"
	"  - {name: \"usb{n}\", count: 2, media: usb-a, direction: provider, resource: usb}\n"
	"--- bpdu\n"
	"description: benchmark PDU\n"
	"ports:\n"
	"  - {name: inlet, media: iec-309, direction: consumer, resource: power-220, amps: 32}\n"
	"  - {name: \"outlet{n}\", count: 48, media: c13, direction: provider, resource: power-220}\n"
	"--- bswitch\n"
	"description: benchmark switch\n"
	"components:\n"
	"  - {name: chassis, type: chassis, units: 1}\n"
	"ports:\n"
	"  - {name: \"power{n}\", count: 2, media: c14, direction: consumer, resource: power-220, watts: 200}\n"
	"  - {name: \"port{n}\", count: 96, media: sfp+, direction: provider, resource: network}\n"
	"  - {name: \"mgmt{n}\", count: 40, media: rj45, direction: provider, resource: management}\n"
	"  - {name: \"uplink{n}\", count: 4, media: lc, direction: consumer, resource: network}\n"
	"--- bcore\n"
	"description: benchmark core switch\n"
	"ports:\n"
	"  - {name: \"down{n}\", count: 2000, media: lc, direction: provider, resource: network}\n"
	"--- butility\n"
	"description: benchmark utility feed\n"
	"virtual: true\n"
	"ports:\n"
	"  - {name: \"circuit{n}\", count: 2000, media: iec-309, direction: provider, resource: power-220, watts: 22000}\n";

static int
set_ports(const char *set)
{
	if (!strcmp(set, "bserver"))
		return 20;
	if (!strcmp(set, "bpdu"))
		return 49;
	if (!strcmp(set, "bswitch"))
		return 142;
	return 2000;
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: genhw SITEDIR RACKS\n");
		return 2;
	}
	const char *dir = argv[1];
	int racks = atoi(argv[2]);
	long inst = 0, ports = 0, links = 0;
	mkdirs(dir, "hwset");
	mkdirs(dir, "hwinst");
	mkdirs(dir, "location");
	/* the sets, split at the --- lines */
	const char *p = sets;
	while ((p = strstr(p, "--- "))) {
		const char *nl = strchr(p, '\n');
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)(nl - p - 4), p + 4);
		const char *end = strstr(nl, "\n--- ");
		end = end ? end + 1 : nl + strlen(nl);
		FILE *f = out(dir, "hwset", name);
		fwrite(nl + 1, 1, (size_t)(end - nl - 1), f);
		fclose(f);
		p = end;
	}
	FILE *f = out(dir, "location", "dc");
	fprintf(f, "type: datacenter\nlatitude: 50.1\nlongitude: 8.7\n");
	fclose(f);
	f = out(dir, "hwinst", "utility");
	fprintf(f, "set: hwset/butility\nlocation: location/dc\n");
	fclose(f);
	inst++, ports += 2000;
	for (int c = 1; c <= 2; c++) {
		char n[32];
		snprintf(n, sizeof n, "core%d", c);
		f = out(dir, "hwinst", n);
		fprintf(f, "set: hwset/bcore\nlocation: location/dc\n");
		fclose(f);
		inst++, ports += 2000;
	}
	for (int r = 1; r <= racks; r++) {
		char rack[32], n[64];
		snprintf(rack, sizeof rack, "rack%d", r);
		f = out(dir, "location", rack);
		fprintf(f, "parent: location/dc\ntype: rack\nunits: 42\n");
		fclose(f);
		for (int k = 0; k < 2; k++) {
			snprintf(n, sizeof n, "pdu%d%c", r, 'a' + k);
			f = out(dir, "hwinst", n);
			fprintf(f, "set: hwset/bpdu\nlocation: location/%s\nlinks:\n  inlet: hwinst/utility:circuit%d\n",
				rack, 2 * r - 1 + k);
			fclose(f);
			inst++, ports += 49, links++;
		}
		const char *sw[] = { "a", "b", "m" };
		for (int k = 0; k < 3; k++) {
			snprintf(n, sizeof n, "sw%d%s", r, sw[k]);
			f = out(dir, "hwinst", n);
			fprintf(f, "set: hwset/bswitch\nlocation: location/%s\nru: %d\nlinks:\n"
				   "  power1: hwinst/pdu%da:outlet%d\n  power2: hwinst/pdu%db:outlet%d\n",
				rack, 39 + k, r, 37 + k, r, 37 + k);
			links += 2;
			if (k < 2) {
				fprintf(f, "  uplink1: hwinst/core%d:down%d\n", k + 1, r);
				links++;
			}
			fclose(f);
			inst++, ports += 102;
		}
		for (int s = 1; s <= SERVERS; s++) {
			snprintf(n, sizeof n, "srv%d-%d", r, s);
			f = out(dir, "hwinst", n);
			fprintf(f, "set: hwset/bserver\nlocation: location/%s\nru: %d\nasset: B%06d\nlinks:\n"
				   "  power1: hwinst/pdu%da:outlet%d\n  power2: hwinst/pdu%db:outlet%d\n"
				   "  eth0: hwinst/sw%da:port%d\n  eth1: hwinst/sw%db:port%d\n"
				   "  eth2: hwinst/sw%da:port%d\n  eth3: hwinst/sw%db:port%d\n"
				   "  bmc: hwinst/sw%dm:mgmt%d\n",
				rack, s, r * 100 + s, r, s, r, s, r, s, r, s, r, s + 36, r, s + 36, r, s);
			links += 7;
			if (s < SERVERS) { /* sas5..8 to the next server's sas1..4 */
				for (int k = 1; k <= 4; k++)
					fprintf(f, "  sas%d: hwinst/srv%d-%d:sas%d\n", k + 4, r, s + 1, k);
				links += 4;
			}
			fclose(f);
			inst++, ports += set_ports("bserver");
		}
	}
	printf("instances %ld\nports %ld\nlinks %ld\n", inst, ports, links);
	printf("pdu pdu1a\nserver srv1-1\nrack rack1\n");
	return 0;
}
