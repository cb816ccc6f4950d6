import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { EventLog } from '../eventlog/event-log.js';
import { EmbeddedEventLog } from '../eventlog/embedded-event-log.js';
import { KafkaEventLog } from '../eventlog/kafka-event-log.js';
import type { Logger } from '../logger.js';

export function createEventLog(config: Config, db: Database, logger: Logger): EventLog {
  if (config.kafkaBrokers?.length) return new KafkaEventLog({ brokers: config.kafkaBrokers, logger: logger.child({ component: 'kafka' }) });
  return new EmbeddedEventLog(db);
}
