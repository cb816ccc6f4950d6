// The spine on the production shape: server PostgreSQL and a Kafka wire-protocol broker.
import { defineSpineSuite } from './spine/spine-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

defineSpineSuite(pgKafkaDeployment, { multiProcess: true, kafka: true });
