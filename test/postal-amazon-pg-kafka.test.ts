// Postal-code coordinates and Amazon order routing on PostgreSQL with Kafka (the mock broker).
import { definePostalAmazonSuite } from './postal-amazon-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

definePostalAmazonSuite(pgKafkaDeployment);
