// Node entry point: installs the Node platform (dawn.node, fs) and exports the API.
import { setPlatform } from './platform/platform.js';
import { nodePlatform } from './platform/node.js';

setPlatform(nodePlatform);

export * from './api-core.js';
