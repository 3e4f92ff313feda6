/* bffd entry point: command line, configuration loading (all-or-nothing), signals: SIGHUP
 * reloads, SIGTERM/SIGINT drain and stop. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <curl/curl.h>
#include <getopt.h>
#include <sched.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/contract/openapi.h"
#include "server/contract/ts_types.h"
#include "server/core/config.h"
#include "server/core/fd_limit.h"
#include "server/core/heap.h"
#include "server/core/server.h"
#include "server/fetch/upstream.h"
#include "server/obs/metrics.h"
#include "server/spectest/spectest.h"

#define MAX_PROFILES 16

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: bffd --profile DIR [--profile DIR ...] [--threads N] [--listen HOST:PORT]\n"
            "       bffd check DIR...\n"
            "       bffd test DIR... [--filter TEXT]\n"
            "       bffd openapi DIR\n"
            "       bffd types DIR\n"
            "\n"
            "  -p, --profile DIR      serve the BFF profile in DIR (profile.yaml + endpoints/)\n"
            "  -t, --threads N        worker threads (default: number of cores)\n"
            "  -l, --listen HOST:PORT override the listener (only with a single profile)\n"
            "      --admin HOST:PORT  serve the admin API there (cache purge, reload); it needs\n"
            "                         a token of at least 16 characters:\n"
            "      --admin-token-file FILE   the token's file (or the BFFD_ADMIN_TOKEN variable)\n"
            "  -h, --help             show this help\n"
            "  -v, --version          show the version\n"
            "\n"
            "  check DIR...           validate profiles without serving; prints every problem\n"
            "                         as file:line:column: message and exits 1 if any\n"
            "                         (the spec test case files in DIR/tests included)\n"
            "  test DIR...            run the spec test cases in DIR/tests/*.yaml without\n"
            "                         network: recorded upstream answers in, the expected\n"
            "                         answer out; exits 1 if a case fails, 2 if a file is\n"
            "                         invalid; --filter TEXT runs the cases whose name or\n"
            "                         file contains TEXT\n"
            "  openapi DIR            print the profile's OpenAPI 3.1 document (JSON) to stdout\n"
            "  types DIR              print TypeScript types of every endpoint's parameters,\n"
            "                         body and answer to stdout\n"
            "  These four also take the server's command line: --profile DIR (-p DIR) names a\n"
            "  folder and its other options are ignored; given --profile flags, check also\n"
            "  refuses profiles one bffd cannot serve together (same name or listener).\n"
            "\n"
            "signals: SIGHUP reloads the profile folders (the running configuration keeps\n"
            "serving if the new one has errors); SIGTERM or SIGINT drain and stop.\n");
}

/* What `cache:` settles to: where entries live and what is cached. */
static void print_cache(const bff_profile_t *p)
{
    if (!p->cache.present)
        return;
    size_t endpoints = 0, sources = 0;
    for (size_t e = 0; e != p->nendpoints; ++e) {
        endpoints += p->endpoints[e]->cache.enabled != 0;
        for (size_t s = 0; s != p->endpoints[e]->plan.nsources; ++s)
            sources += p->endpoints[e]->plan.sources[s].cache.enabled != 0;
    }
    for (size_t r = 0; p->graph != NULL && r != p->graph->nresolvers; ++r)
        if (p->graph->resolvers[r].kind == BFF_GQL_RESOLVE_SOURCE)
            sources += p->graph->resolvers[r].plan.sources[0].cache.enabled != 0;
    char redis[300] = "no Redis (L1 only)";
    if (p->cache.redis_host != NULL)
        snprintf(redis, sizeof(redis), "Redis %s:%u/%u, keys %s*", p->cache.redis_host,
                 p->cache.redis_port, p->cache.redis_db, p->cache.prefix);
    printf("  cache: L1 %llu MiB per worker, %s; %zu cached endpoints, %zu cached sources%s\n",
           (unsigned long long)(p->cache.memory_bytes >> 20), redis, endpoints, sources,
           p->graph != NULL && p->graph->cache.enabled ? ", GraphQL queries" : "");
}

/* What the HTTP/1.1 upstreams' max_connections add up to per worker thread. */
static void print_connections(const bff_profile_t *p)
{
    bff_upstream_connections_t sum;
    bff_upstream_connection_sum(p, &sum);
    if (sum.lines != 0)
        printf("  connections: up to %lu per worker thread; the most to one host, %s: %lu (%zu "
               "upstream%s)\n",
               sum.total, sum.authority, sum.peak, sum.lines, sum.lines == 1 ? "" : "s");
}

static int cmd_check(int argc, char **argv, int server_style)
{
    if (argc < 1) {
        fprintf(stderr, "bffd check: name at least one profile folder\n");
        return 2;
    }
    int failed = 0;
    for (int i = 0; i < argc; ++i) {
        const char *dirs[1] = {argv[i]};
        bff_config_args_t args = {.dirs = dirs, .ndirs = 1, .check_only = 1};
        bff_diag_t diag = {0};
        bff_config_t *c = bff_config_load(&args, &diag);
        bff_diag_print(&diag);
        bff_diag_clear(&diag);
        if (c == NULL) {
            failed = 1;
            continue;
        }
        const bff_profile_t *p = c->sites[0].profile;
        size_t ncases = 0;
        if (bff_spectest_check(argv[i], p, &diag, &ncases) != 0) {
            bff_diag_print(&diag);
            bff_diag_clear(&diag);
            bff_config_release(c);
            failed = 1;
            continue;
        }
        if (p->graph != NULL)
            printf("%s: ok (profile %s, %zu upstreams, %zu endpoints, GraphQL at %s with %zu "
                   "resolvers)\n",
                   argv[i], p->name, p->nupstreams, p->nendpoints, p->graph->path,
                   p->graph->nresolvers);
        else
            printf("%s: ok (profile %s, %zu upstreams, %zu endpoints)\n", argv[i], p->name,
                   p->nupstreams, p->nendpoints);
        print_cache(p);
        print_connections(p);
        if (ncases != 0)
            printf("  spec tests: %zu cases in %s/tests\n", ncases, argv[i]);
        if (p->openapi.enabled)
            printf("  openapi: served at %s (%zu operations)\n", p->openapi.path,
                   p->nendpoints + (p->graph != NULL));
        bff_config_release(c);
    }
    if (!failed && argc > 1) {
        /* Served together they need distinct names and listeners (config.c): an error for the
         * server's own command line (--profile A --profile B), else a warning: folders checked
         * at once may be deployed apart. */
        bff_config_args_t args = {
            .dirs = (const char *const *)argv, .ndirs = (size_t)argc, .check_only = 1};
        bff_diag_t diag = {0};
        bff_config_t *c = bff_config_load(&args, &diag);
        bff_diag_print(&diag);
        bff_diag_clear(&diag);
        if (c == NULL && !server_style)
            fprintf(stderr, "bffd check: warning: these profiles cannot be served by one bffd "
                            "(each is fine alone; with --profile flags this is an error)\n");
        failed = c == NULL && server_style;
        bff_config_release(c);
    }
    return failed ? 1 : 0;
}

/* bffd openapi DIR / bffd types DIR: the consumer contracts of one profile on stdout, whether
 * or not the profile serves the document (CI publishes them). */
static int cmd_contract(const char *what, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "bffd %s: name one profile folder\n", what);
        return 2;
    }
    const char *dirs[1] = {argv[0]};
    bff_config_args_t args = {.dirs = dirs, .ndirs = 1, .check_only = 1};
    bff_diag_t diag = {0};
    bff_config_t *c = bff_config_load(&args, &diag);
    bff_diag_print(&diag);
    bff_diag_clear(&diag);
    if (c == NULL)
        return 1;
    size_t len = 0;
    char *text = strcmp(what, "openapi") == 0 ? bff_openapi_render(c->sites[0].profile, 1, &len)
                                              : bff_ts_types_render(c->sites[0].profile);
    int ok = text != NULL && fputs(text, stdout) >= 0 &&
             (strcmp(what, "openapi") != 0 || fputc('\n', stdout) != EOF) && fflush(stdout) == 0;
    free(text);
    bff_config_release(c);
    if (!ok)
        fprintf(stderr, "bffd %s: cannot write the output\n", what);
    return ok ? 0 : 1;
}

/* SIGHUP: loads the folders again on this (the main) thread, off the worker loops. A valid
 * configuration that needs no restart replaces the current one; anything else is reported and
 * the current one keeps serving. */
static void reload(bff_server_t *server, const bff_config_args_t *args)
{
    bff_diag_t diag = {0};
    bff_config_t *next = bff_config_load(args, &diag);
    bff_config_t *cur = bff_server_acquire_config(server);
    if (next != NULL && bff_config_check_reload(cur, next, &diag) != 0) {
        bff_config_release(next);
        next = NULL;
    }
    if (next == NULL) {
        atomic_fetch_add(&bff_metrics_reloads_rejected, 1);
        bff_diag_print(&diag);
        fprintf(stderr,
                "bffd: reload rejected: the configuration (generation %llu) keeps "
                "serving\n",
                (unsigned long long)cur->generation);
    } else {
        size_t nendpoints = 0;
        for (size_t i = 0; i != next->nsites; ++i)
            nendpoints += next->sites[i].profile->nendpoints;
        /* Older snapshots than the current one live only while requests started on them run:
         * the count shows a reload never leaves one behind. */
        size_t older = bff_config_alive() - 2;
        bff_fd_limit_check(next, server->nworkers, bff_fd_limit_raise());
        bff_server_publish(server, next);
        atomic_fetch_add(&bff_metrics_reloads_ok, 1);
        fprintf(stderr,
                "bffd: reloaded: configuration generation %llu (%zu endpoints; %zu older "
                "configurations still finishing requests)\n",
                (unsigned long long)cur->generation + 1, nendpoints, older);
    }
    bff_config_release(cur);
    bff_diag_clear(&diag);
}

/* The admin token: the file's first line, or BFFD_ADMIN_TOKEN; 16 characters at least, so a
 * guessable word never guards a purge. */
static int read_admin_token(const char *file, char **out)
{
    char buf[512] = "";
    if (file != NULL) {
        FILE *f = fopen(file, "r");
        if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
            fprintf(stderr, "bffd: cannot read the admin token from '%s'\n", file);
            if (f != NULL)
                fclose(f);
            return -1;
        }
        fclose(f);
        buf[strcspn(buf, "\r\n")] = '\0';
    } else if (getenv("BFFD_ADMIN_TOKEN") != NULL) {
        snprintf(buf, sizeof(buf), "%s", getenv("BFFD_ADMIN_TOKEN"));
    }
    size_t len = strlen(buf);
    if (len < 16) {
        fprintf(stderr, "bffd: --admin needs a token of at least 16 characters "
                        "(--admin-token-file FILE or BFFD_ADMIN_TOKEN)\n");
        return -1;
    }
    for (size_t i = 0; i != len; ++i)
        if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f) {
            fprintf(stderr, "bffd: the admin token must be printable, without spaces\n");
            return -1;
        }
    *out = strdup(buf);
    return 0;
}

/* One worker per CPU the process may use: the cgroup v2 CPU quota (a container's limit) when
 * it is below the cores online (and the affinity mask), rounded up. */
static unsigned default_threads(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 &&
        CPU_COUNT(&set) < ncpu)
        ncpu = CPU_COUNT(&set);
    FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f != NULL) {
        char quota[32] = "";
        long period = 0;
        if (fscanf(f, "%31s %ld", quota, &period) == 2 && strcmp(quota, "max") != 0 && period > 0) {
            long q = atol(quota), cpus = (q + period - 1) / period;
            if (cpus > 0 && cpus < ncpu)
                ncpu = cpus;
        }
        fclose(f);
    }
    return ncpu > 0 ? (unsigned)ncpu : 1;
}

static int parse_threads(const char *s, unsigned *out)
{
    int64_t v;
    if (bff_parse_int(s, &v) != 0 || v < 1 || v > 256)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* The subcommands take profile folders as arguments; the server's spelling (`--profile DIR`,
 * `-p DIR`, `--profile=DIR`) names one there too, so a command line copied from the server
 * works. Rewrites argv in place (a --filter value is left alone); returns the new count. */
/* 1 when `arg` is the server's option `name` (-x or --long) that takes a value: in `--long=V`
 * form *inline gets V. */
static int server_option(const char *arg, const char *shortname, const char *longname,
                         const char **inline_value)
{
    size_t n = strlen(longname);
    *inline_value = NULL;
    if (strcmp(arg, shortname) == 0 || strcmp(arg, longname) == 0)
        return 1;
    if (strncmp(arg, longname, n) == 0 && arg[n] == '=') {
        *inline_value = arg + n + 1;
        return 1;
    }
    return 0;
}

/* The arguments of check, test, openapi and types, written as the server's command line works
 * too: --profile DIR (-p, --profile=DIR) names a folder, and the server's other options
 * (--threads, --listen, --admin, --admin-token-file) are accepted and have no effect here.
 * Returns the arguments left, folders in order; *server_style says --profile was used. */
static int server_args_as_folders(int argc, char **argv, int *server_style)
{
    static const char *const ignored[][2] = {
        {"-t", "--threads"}, {"-l", "--listen"}, {"-A", "--admin"}, {"-T", "--admin-token-file"}};
    int n = 0;
    *server_style = 0;
    for (int i = 0; i < argc; ++i) {
        const char *v;
        int skip = 0;
        if (i > 0 && strcmp(argv[i - 1], "--filter") == 0) { /* a filter's text as it is */
            argv[n++] = argv[i];
            continue;
        }
        if (server_option(argv[i], "-p", "--profile", &v)) {
            *server_style = 1;
            if (v != NULL)
                argv[n++] = (char *)v;
            else if (i + 1 < argc)
                argv[n++] = argv[++i];
            continue;
        }
        for (size_t k = 0; k != sizeof(ignored) / sizeof(ignored[0]) && !skip; ++k)
            if (server_option(argv[i], ignored[k][0], ignored[k][1], &v))
                skip = 1 + (v == NULL);
        if (skip)
            i += skip - 1; /* the option, and its value when it is the next argument */
        else
            argv[n++] = argv[i];
    }
    return n;
}

/* -h or --help among a subcommand's arguments. */
static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; ++i)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int server_style = 0;
    if (argc >= 2 &&
        (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "test") == 0 ||
         strcmp(argv[1], "openapi") == 0 || strcmp(argv[1], "types") == 0) &&
        wants_help(argc - 2, argv + 2)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        int n = server_args_as_folders(argc - 2, argv + 2, &server_style);
        return cmd_check(n, argv + 2, server_style);
    }
    if (argc >= 2 && strcmp(argv[1], "test") == 0)
        return bff_spectest_main(server_args_as_folders(argc - 2, argv + 2, &server_style),
                                 argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "openapi") == 0 || strcmp(argv[1], "types") == 0))
        return cmd_contract(argv[1], server_args_as_folders(argc - 2, argv + 2, &server_style),
                            argv + 2);

    static const struct option longopts[] = {{"profile", required_argument, NULL, 'p'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'v'},
                                             {"admin", required_argument, NULL, 'A'},
                                             {"admin-token-file", required_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    const char *admin = NULL, *admin_token_file = NULL;
    const char *dirs[MAX_PROFILES], *listen = NULL;
    size_t ndirs = 0;
    unsigned nthreads = default_threads();
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":p:t:l:hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (ndirs == MAX_PROFILES) {
                fprintf(stderr, "bffd: at most %d profiles\n", MAX_PROFILES);
                return 2;
            }
            dirs[ndirs++] = optarg;
            break;
        case 't':
            if (parse_threads(optarg, &nthreads) != 0) {
                fprintf(stderr, "bffd: --threads takes a number from 1 to 256, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'l':
            listen = optarg;
            break;
        case 'A':
            admin = optarg;
            break;
        case 'T':
            admin_token_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'v':
            printf("bffd %s\nallocator: %s\n", BFF_VERSION, bff_heap_allocator_version());
            return 0;
        case ':':
            fprintf(stderr, "bffd: option '%s' needs a value\n", argv[optind - 1]);
            return 2;
        default: /* inside a cluster like -Zq, optind has not moved on yet: name the letter */
            if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(stderr, "bffd: unknown option '-%c' (see bffd --help)\n", optopt);
            else
                fprintf(stderr, "bffd: unknown option '%s' (see bffd --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bffd: unexpected argument '%s' (see bffd --help)\n", argv[optind]);
        return 2;
    }
    if (ndirs == 0) {
        fprintf(stderr, "bffd: name at least one --profile DIR (see bffd --help)\n");
        return 2;
    }
    if (listen != NULL && ndirs != 1) {
        fprintf(stderr, "bffd: --listen overrides the listener of a single profile only\n");
        return 2;
    }
    char *listen_host = NULL;
    uint16_t listen_port = 0;
    if (listen != NULL && bff_profile_parse_listen(listen, &listen_host, &listen_port) != 0) {
        fprintf(stderr, "bffd: --listen must be HOST:PORT, not '%s'\n", listen);
        return 2;
    }

    char *admin_host = NULL, *admin_token = NULL;
    uint16_t admin_port = 0;
    if (admin != NULL && (bff_profile_parse_listen(admin, &admin_host, &admin_port) != 0 ||
                          read_admin_token(admin_token_file, &admin_token) != 0)) {
        if (admin_host == NULL)
            fprintf(stderr, "bffd: --admin must be HOST:PORT, not '%s'\n", admin);
        free(admin_host);
        free(listen_host);
        return 2;
    }
    if (admin == NULL && admin_token_file != NULL) {
        fprintf(stderr, "bffd: --admin-token-file is for --admin HOST:PORT\n");
        free(listen_host);
        return 2;
    }

    bff_config_args_t args = {
        .dirs = dirs, .ndirs = ndirs, .listen_host = listen_host, .listen_port = listen_port};
    bff_diag_t diag = {0};
    bff_config_t *config = bff_config_load(&args, &diag);
    bff_diag_print(&diag);
    bff_diag_clear(&diag);
    if (config == NULL) {
        free(listen_host);
        fprintf(stderr, "bffd: not starting: fix the errors above\n");
        return 1;
    }

    /* Threads inherit this mask; the main thread alone waits for the signals. */
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    json_object_seed(0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bff_fd_limit_check(config, nthreads, bff_fd_limit_raise());

    static bff_server_t server;
    server.admin_host = admin_host;
    server.admin_port = admin_port;
    server.admin_token = admin_token;
    if (bff_server_start(&server, config, nthreads) != 0)
        return 1;
    int sig = 0;
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        reload(&server, &args);
    fprintf(stderr, "bffd: %s received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    bff_server_stop(&server);
    bff_server_dispose(&server);
    free(listen_host);
    free(admin_host);
    free(admin_token);
    curl_global_cleanup();
    fprintf(stderr, "bffd: stopped\n");
    return 0;
}
