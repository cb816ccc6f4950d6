// Shopify end to end on the single-machine default: PGlite and the embedded log.
import { defineShopifyE2ESuite } from './shopify-e2e-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

defineShopifyE2ESuite(embeddedDeployment);
