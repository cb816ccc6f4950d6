// Shopify end to end on PostgreSQL with Kafka (the librdkafka mock broker).
import { defineShopifyE2ESuite } from './shopify-e2e-suite.js';
import { pgKafkaDeployment } from './spine/deployments.js';

defineShopifyE2ESuite(pgKafkaDeployment);
