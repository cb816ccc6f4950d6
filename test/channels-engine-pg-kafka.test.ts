// The channel engine suite on PostgreSQL with Kafka (the mock broker).
import { defineChannelEngineSuite } from './channels-engine-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

defineChannelEngineSuite(pgKafkaDeployment);
