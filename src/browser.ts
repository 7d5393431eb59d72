// Browser entry point: installs the browser platform (navigator.gpu, fetch) and exports the API.
import { setPlatform } from './platform/platform.js';
import { browserPlatform } from './platform/browser.js';

setPlatform(browserPlatform);

export * from './api-core.js';
