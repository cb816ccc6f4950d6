// The amazon kind on PostgreSQL with Kafka (the mock broker).
import { defineAmazonChannelSuite } from './amazon-channel-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

defineAmazonChannelSuite(pgKafkaDeployment);
