// The square kind on PostgreSQL with Kafka (the mock broker).
import { defineSquareChannelSuite } from './square-channel-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

defineSquareChannelSuite(pgKafkaDeployment);
