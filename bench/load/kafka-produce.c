/*
 * The spine benchmark's load generator: produces keyed messages from a file to Kafka with
 * librdkafka. It exists because the benchmark runs the producer, the broker, the reconciler and
 * PostgreSQL on the same two cores: kafkajs spent about 20 µs of CPU per message producing,
 * a third of the machine, which a load generator on another host would not take from the
 * system under test. librdkafka produces for about a tenth of that.
 *
 *   kafka-produce --brokers HOST:PORT[,..] --topic NAME --file PATH [--rate N] [--tick-ms T]
 *
 * PATH holds one message per line, "key<TAB>value". Without --rate every message is produced as
 * fast as librdkafka takes them; with --rate, N messages per second are handed over every T ms
 * (default 10). Messages are keyed, partitioned like the Java client and kafkajs (murmur2), and
 * acknowledged by all replicas (acks=all). The message timestamp is the time of production.
 *
 * stdout: "produced <count> <failed> <milliseconds>" once every message is acknowledged.
 * Exit status 0 when nothing failed.
 *
 * Build: gcc -O2 -o kafka-produce kafka-produce.c -lrdkafka   (bench/spine.ts does this)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>

static long failed = 0;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
        (void)rk;
        (void)opaque;
        if (m->err) {
                if (failed < 5)
                        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
                failed++;
        }
}

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
        struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
        nanosleep(&ts, NULL);
}

static char *read_file(const char *path, size_t *len) {
        FILE *f = fopen(path, "rb");
        char *buf;
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        *len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc(*len + 1);
        if (!buf || fread(buf, 1, *len, f) != *len) {
                fclose(f);
                free(buf);
                return NULL;
        }
        fclose(f);
        buf[*len] = '\0';
        return buf;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
        char err[256];
        if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "%s=%s: %s\n", k, v, err);
                exit(2);
        }
}

int main(int argc, char **argv) {
        const char *brokers = NULL, *topic = NULL, *file = NULL;
        double rate = 0, tick_ms = 10;
        char err[512];
        size_t len, count = 0, i;
        char *data, **keys, **values, *p;
        size_t *key_lens, *value_lens;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        double t0;
        size_t sent = 0;

        for (int a = 1; a + 1 < argc; a += 2) {
                if (!strcmp(argv[a], "--brokers"))
                        brokers = argv[a + 1];
                else if (!strcmp(argv[a], "--topic"))
                        topic = argv[a + 1];
                else if (!strcmp(argv[a], "--file"))
                        file = argv[a + 1];
                else if (!strcmp(argv[a], "--rate"))
                        rate = atof(argv[a + 1]);
                else if (!strcmp(argv[a], "--tick-ms"))
                        tick_ms = atof(argv[a + 1]);
                else {
                        fprintf(stderr, "unknown option %s\n", argv[a]);
                        return 2;
                }
        }
        if (!brokers || !topic || !file) {
                fprintf(stderr, "usage: kafka-produce --brokers B --topic T --file F [--rate N] [--tick-ms T]\n");
                return 2;
        }
        if (!(data = read_file(file, &len))) {
                perror(file);
                return 2;
        }
        for (p = data; *p; p++)
                if (*p == '\n')
                        count++;
        keys       = malloc(count * sizeof(char *));
        values     = malloc(count * sizeof(char *));
        key_lens   = malloc(count * sizeof(size_t));
        value_lens = malloc(count * sizeof(size_t));
        p          = data;
        for (i = 0; i < count; i++) {
                char *nl = strchr(p, '\n'), *tab = memchr(p, '\t', (size_t)(nl - p));
                if (!tab) {
                        fprintf(stderr, "line %zu has no TAB\n", i + 1);
                        return 2;
                }
                keys[i]       = p;
                key_lens[i]   = (size_t)(tab - p);
                values[i]     = tab + 1;
                value_lens[i] = (size_t)(nl - tab - 1);
                p             = nl + 1;
        }

        conf = rd_kafka_conf_new();
        set(conf, "bootstrap.servers", brokers);
        set(conf, "acks", "all");
        set(conf, "linger.ms", "5");
        set(conf, "batch.num.messages", "10000");
        set(conf, "queue.buffering.max.messages", "2000000");
        set(conf, "queue.buffering.max.kbytes", "2097151");
        set(conf, "partitioner", "murmur2_random");
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
                fprintf(stderr, "%s\n", err);
                return 2;
        }

        t0 = now_ms();
        while (sent < count) {
                size_t due = count;
                if (rate > 0) {
                        due = (size_t)((now_ms() - t0) / 1000.0 * rate);
                        if (due > count)
                                due = count;
                }
                for (; sent < due; sent++) {
                        rd_kafka_resp_err_t e;
                        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                                      RD_KAFKA_V_KEY(keys[sent], key_lens[sent]),
                                                      RD_KAFKA_V_VALUE(values[sent], value_lens[sent]), RD_KAFKA_V_END)) ==
                               RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 10);
                        if (e) {
                                fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
                                return 1;
                        }
                }
                rd_kafka_poll(rk, 0);
                if (rate > 0 && sent < count)
                        sleep_ms(tick_ms);
        }
        rd_kafka_flush(rk, 120000);
        printf("produced %zu %ld %.0f\n", count, failed + rd_kafka_outq_len(rk), now_ms() - t0);
        fflush(stdout);
        rd_kafka_destroy(rk);
        free(data);
        return failed ? 1 : 0;
}
