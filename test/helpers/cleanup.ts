import { afterAll } from '@jest/globals';
import { removeTempDirs } from './fixtures.js';

// Every test file removes the directories it made through tempDir(), whatever its own hooks do.
afterAll(removeTempDirs);
