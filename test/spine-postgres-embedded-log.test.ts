// Server PostgreSQL without Kafka: the embedded log lives in the same database.
import { defineSpineSuite } from './spine/spine-suite.js';
import { pgEmbeddedLogDeployment } from './spine/deployments.js';

defineSpineSuite(pgEmbeddedLogDeployment, { multiProcess: true, kafka: false });
