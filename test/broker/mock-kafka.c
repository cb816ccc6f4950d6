/*
 * A Kafka wire-protocol broker for tests: librdkafka's mock cluster behind a line-based
 * control protocol on stdin/stdout (see test/support/kafka-broker.ts, which builds and runs it).
 *
 *   mock-kafka [--brokers N] [--topic name:partitions]...
 *
 * Without --topic it creates inventory.events:8 and inventory.atp:4. The first stdout line is
 * the bootstrap servers string ("127.0.0.1:p1,127.0.0.1:p2"). Then one command per stdin line,
 * one answer per line ("ok" or "err <message>"):
 *
 *   topic <name> <partitions>           create a topic
 *   down <brokerId>                     disconnect clients, refuse connections (-1: all brokers)
 *   up <brokerId>                       accept connections again (-1: all brokers)
 *   errors <apiKey> <count> <errcode>   fail the next <count> requests of <apiKey>
 *                                       (Produce=0, Fetch=1, ...) with <errcode> (number or
 *                                       name such as NOT_LEADER_FOR_PARTITION, _TRANSPORT)
 *   rtt <brokerId> <ms>                 add round-trip latency (-1: all brokers)
 *   ping                                answers ok
 *
 * It exits when stdin closes, so a parent that dies never leaves it behind.
 *
 * Build: gcc -O2 -o mock-kafka mock-kafka.c -lrdkafka   (Debian: apt-get install librdkafka-dev)
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define MAX_LINE 4096

static int parse_long(const char *s, long min, long max, long *out) {
        char *end;
        long v;
        if (!s || !*s)
                return -1;
        errno = 0;
        v     = strtol(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* An error code given as a number or as a name from rd_kafka_get_err_descs
 * ("NOT_LEADER_FOR_PARTITION", "ERR_NOT_LEADER_FOR_PARTITION", "_TRANSPORT"). */
static int parse_err(const char *s, rd_kafka_resp_err_t *out) {
        const struct rd_kafka_err_desc *descs;
        size_t cnt, i;
        long v;
        if (parse_long(s, INT_MIN, INT_MAX, &v) == 0) {
                *out = (rd_kafka_resp_err_t)v;
                return 0;
        }
        if (strncasecmp(s, "ERR_", 4) == 0)
                s += 4;
        rd_kafka_get_err_descs(&descs, &cnt);
        for (i = 0; i < cnt; i++) {
                if (descs[i].name && strcasecmp(descs[i].name, s) == 0) {
                        *out = descs[i].code;
                        return 0;
                }
        }
        return -1;
}

static void reply_err(const char *fmt, const char *arg) {
        fputs("err ", stdout);
        fprintf(stdout, fmt, arg);
        fputc('\n', stdout);
}

static void reply_result(rd_kafka_resp_err_t err) {
        if (err)
                fprintf(stdout, "err %s\n", rd_kafka_err2str(err));
        else
                fputs("ok\n", stdout);
}

static void handle(rd_kafka_mock_cluster_t *mc, char *line) {
        char *argv[8];
        int argc = 0;
        char *save = NULL, *tok;
        long a, b, c;

        for (tok = strtok_r(line, " \t\r\n", &save); tok && argc < 8;
             tok = strtok_r(NULL, " \t\r\n", &save))
                argv[argc++] = tok;
        if (argc == 0) {
                reply_err("%s", "empty command");
                return;
        }

        if (!strcmp(argv[0], "ping") && argc == 1) {
                fputs("ok\n", stdout);
        } else if (!strcmp(argv[0], "topic")) {
                if (argc != 3 || parse_long(argv[2], 1, 100000, &a)) {
                        reply_err("%s", "usage: topic <name> <partitions>");
                        return;
                }
                reply_result(rd_kafka_mock_topic_create(mc, argv[1], (int)a, 1));
        } else if (!strcmp(argv[0], "down") || !strcmp(argv[0], "up")) {
                if (argc != 2 || parse_long(argv[1], -1, INT32_MAX, &a)) {
                        reply_err("usage: %s <brokerId>", argv[0]);
                        return;
                }
                reply_result(!strcmp(argv[0], "down")
                                 ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                                 : rd_kafka_mock_broker_set_up(mc, (int32_t)a));
        } else if (!strcmp(argv[0], "errors")) {
                rd_kafka_resp_err_t code, *errs;
                size_t i;
                if (argc != 4 || parse_long(argv[1], 0, INT16_MAX, &a) ||
                    parse_long(argv[2], 0, 1000000, &b) ||
                    parse_err(argv[3], &code)) {
                        reply_err("%s", "usage: errors <apiKey> <count> <errcode>");
                        return;
                }
                if (b == 0) {
                        rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
                        fputs("ok\n", stdout);
                        return;
                }
                errs = calloc((size_t)b, sizeof(*errs));
                if (!errs) {
                        reply_err("%s", "out of memory");
                        return;
                }
                for (i = 0; i < (size_t)b; i++)
                        errs[i] = code;
                rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
                free(errs);
                fputs("ok\n", stdout);
        } else if (!strcmp(argv[0], "rtt")) {
                if (argc != 3 || parse_long(argv[1], -1, INT32_MAX, &a) ||
                    parse_long(argv[2], 0, INT_MAX, &c)) {
                        reply_err("%s", "usage: rtt <brokerId> <ms>");
                        return;
                }
                reply_result(rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)c));
        } else {
                reply_err("unknown command: %s", argv[0]);
        }
}

static void usage(const char *argv0) {
        fprintf(stderr, "usage: %s [--brokers N] [--topic name:partitions]...\n", argv0);
        exit(2);
}

int main(int argc, char **argv) {
        char errstr[512], line[MAX_LINE];
        const char *topics[256];
        int ntopics = 0, i;
        long brokers = 1;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mc;

#ifdef __linux__
        /* Belt and braces: stdin EOF already ends us when the parent dies. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
        signal(SIGPIPE, SIG_IGN);

        for (i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
                        if (parse_long(argv[++i], 1, 64, &brokers))
                                usage(argv[0]);
                } else if (!strcmp(argv[i], "--topic") && i + 1 < argc) {
                        if (ntopics == (int)(sizeof(topics) / sizeof(*topics)))
                                usage(argv[0]);
                        topics[ntopics++] = argv[++i];
                } else {
                        usage(argv[0]);
                }
        }
        if (ntopics == 0) {
                topics[ntopics++] = "inventory.events:8";
                topics[ntopics++] = "inventory.atp:4";
        }

        conf = rd_kafka_conf_new();
        /* The handle only hosts the cluster; keep its own logging quiet. */
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "mock-kafka: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-kafka: rd_kafka_new: %s\n", errstr);
                return 1;
        }
        mc = rd_kafka_mock_cluster_new(rk, (int)brokers);
        if (!mc) {
                fprintf(stderr, "mock-kafka: could not create the mock cluster\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        for (i = 0; i < ntopics; i++) {
                char name[512];
                const char *colon = strrchr(topics[i], ':');
                long parts;
                rd_kafka_resp_err_t err;
                if (!colon || colon == topics[i] || (size_t)(colon - topics[i]) >= sizeof(name) ||
                    parse_long(colon + 1, 1, 100000, &parts)) {
                        fprintf(stderr, "mock-kafka: bad --topic %s (want name:partitions)\n", topics[i]);
                        return 2;
                }
                memcpy(name, topics[i], (size_t)(colon - topics[i]));
                name[colon - topics[i]] = '\0';
                err = rd_kafka_mock_topic_create(mc, name, (int)parts, 1);
                if (err) {
                        fprintf(stderr, "mock-kafka: creating %s: %s\n", name, rd_kafka_err2str(err));
                        return 1;
                }
        }

        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
        fflush(stdout);

        while (fgets(line, sizeof(line), stdin)) {
                handle(mc, line);
                fflush(stdout);
        }

        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
