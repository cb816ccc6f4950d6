// Postal-code coordinates and Amazon order routing on the embedded deployment (PGlite, embedded log).
import { definePostalAmazonSuite } from './postal-amazon-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

definePostalAmazonSuite(embeddedDeployment);
