// What route handlers may use. Built once per service instance.
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { EventLog } from '../eventlog/event-log.js';
import type { EventIngest } from '../ingest/ingest-events.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { BacklogMonitor } from '../ingest/backlog-monitor.js';

export interface AppContext {
  config: Config;
  db: Database;
  log: EventLog;
  ingest: EventIngest;
  metrics: Metrics;
  logger: Logger;
  /** False until migrations ran and the log is connected. */
  isStarted(): boolean;
  /** Overload shedding for POST /v1/events (API role); absent means never shed. */
  backlog?: BacklogMonitor;
}
