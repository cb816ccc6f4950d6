// The spine on the single-machine default: PGlite and the embedded log, no other service.
import { defineSpineSuite } from './spine/spine-suite.js';
import { embeddedDeployment } from './spine/deployments.js';

defineSpineSuite(embeddedDeployment, { multiProcess: false, kafka: false });
