// The channel engine suite on the single-machine default: PGlite and the embedded log.
import { defineChannelEngineSuite } from './channels-engine-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

defineChannelEngineSuite(embeddedDeployment);
